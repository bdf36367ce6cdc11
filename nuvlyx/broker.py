"""Kombu's Redis transport with one known failure worked around, so a Celery worker survives a
Redis outage instead of dying.

With `acks_late` (our setting: a task is acknowledged only after it ran), the worker usually holds
one unacknowledged message. When the broker connection drops, Celery closes the channel and kombu
tries to push that message back onto the queue ("Restoring 1 unacknowledged message(s)") through a
connection it can no longer build: `AttributeError: 'NoneType' object has no attribute 'hostname'`
from `Channel._connparams`, which Celery reports as "Unrecoverable error" and the worker process
exits (the kombu#582 / kombu#970 family; still present in kombu 5.7 with redis-py 8). Nothing was
restarting it, so every event after the outage waited for a human.

The same closed channel also breaks the acknowledgement of a task that finished while Redis was away
(`QoS.ack` → `_remove_from_indices` → `'NoneType' object has no attribute 'client'`), with the same
ending. Both now log and leave the message where it is.

Skipping that restore or ack loses nothing: the message stays in Redis's unacked set, from which kombu's
visibility timeout restores it, and our outbox never depends on a broker message anyway (the
sweepers re-queue every event, delivery and WhatsApp message the database still shows as due).
A message whose ack was lost runs again after the visibility timeout: every task of ours is idempotent
(an event already dispatched, a delivery already leased or done, is skipped). Only the restore-on-close
and the ack/reject of a broken channel are changed; everything else is kombu's own transport.

Used for `redis://` brokers (settings.CELERY_BROKER_TRANSPORT); proven by
tests/test_redis_outage.py, which checks the worker process is still alive after Redis comes back.
"""

import logging

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        try:
            return super().restore_unacked(client)
        except Exception as exc:  # the connection is gone: leave the message in the unacked set
            logger.warning(
                "broker connection lost with %d unacknowledged message(s); they stay in Redis's unacked set "
                "and are restored after the visibility timeout (%s)",
                len(self._delivered),
                type(exc).__name__,
            )
            self._delivered.clear()
            return None

    def ack(self, delivery_tag):
        try:
            return super().ack(delivery_tag)
        except Exception as exc:  # the connection is gone: the message stays in the unacked set
            self._forget(delivery_tag, "ack", exc)
            return None

    def reject(self, delivery_tag, requeue=False):
        try:
            return super().reject(delivery_tag, requeue=requeue)
        except Exception as exc:
            self._forget(delivery_tag, "reject", exc)
            return None

    def _forget(self, delivery_tag, what: str, exc: Exception) -> None:
        logger.warning(
            "broker connection lost before the %s of a message; it stays in Redis's unacked set and runs again "
            "after the visibility timeout (%s)",
            what,
            type(exc).__name__,
        )
        self._quick_ack(delivery_tag)  # done with it locally, as kombu's virtual QoS.ack does


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
