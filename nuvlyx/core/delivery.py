"""The one outbound delivery engine: lease, retry rule, schedule with jitter, attempt cap, sweeper.

A channel (webhooks, WhatsApp through Mosend) plugs in with a `Channel` subclass that says which
model holds its rows and how to send one (its transport and its payload); everything else is here,
the same for every channel:

- Rows: `status` (PENDING → the channel's success status, or FAILED), `attempts`,
  `next_attempt_at`, a lease column and an error column.
- Lease: a worker sends a row only after one conditional UPDATE gives it the lease (PENDING,
  due, lease free), so duplicate tasks, early ETA messages and the sweeper never send a row twice
  at once. A lease that expired belonged to an attempt cut off mid-way (worker killed, hard time
  limit): the request may have reached the receiver, so the next worker counts it as an attempt
  (INTERRUPTED) before sending again.
- The retry rule (API.md §2 and §4, one for every channel): a 2xx is success; no answer
  (connection error, timeout, TLS error, a blocked address), a 3xx, a 5xx and a 429 are retried;
  any other 4xx is final (retrying cannot fix it).
- Retry schedule: the channel's setting (WEBHOOK_RETRY_SCHEDULE, MOSEND_RETRY_SCHEDULE): seconds
  after each failed attempt, each ± 10 % jitter; a Retry-After (429/503) is honoured when longer,
  capped at 10 h (the contract's longest step). len(schedule) + 1 attempts, then the row is FAILED (the dead-letter
  state: it stays in the log, the owner can resend it).
- Waits up to COUNTDOWN_LIMIT are queued as a countdown task; longer ones (and anything lost: broker
  down, worker killed) are picked up by the sweeper, `sweep(channel)`, run by beat every
  SWEEP_INTERVAL_SECONDS.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils.module_loading import import_string

from .timeutil import now

logger = logging.getLogger(__name__)

PENDING = "PENDING"
FAILED = "FAILED"
JITTER = 0.10  # ± 10 % on every step of every schedule
DUE_SLACK = timedelta(seconds=2)  # a retry task may arrive a little before next_attempt_at
COUNTDOWN_LIMIT = 900.0  # longer waits are left to the sweeper (no long ETA tasks in the broker)
RETRY_AFTER_CAP = 36000.0  # a Retry-After is honoured up to the contract's longest step (10 h)
INTERRUPTED = "Interrupted: the worker stopped before the attempt finished (lease expired)"

# What attempt() returns (channels add their own labels for rows they refuse to send).
NOT_CLAIMED = "not_claimed"  # not due, leased by someone else, or already done
GONE_AWAY = "gone_away"  # the row was deleted meanwhile
SUCCEEDED = "succeeded"
RETRY = "retry"
GAVE_UP = "failed"


def retryable(status: int | None, *, client_errors_final: bool = True) -> bool:
    """THE rule for which failed attempts are retried, for every channel.

    No answer (connection error, timeout, TLS error, blocked address), a 3xx, a 5xx and a 429 are
    retried. Any other 4xx is final for a channel whose `client_errors_final` says so (WhatsApp:
    API.md §4, "4xx other than 429: no retry") and retried like the rest otherwise (webhooks:
    API.md §2, "anything else is retried")."""
    if status is None or status == 429:
        return True
    if 400 <= status < 500:
        return not client_errors_final
    return True


def jitter(seconds: float) -> float:
    return seconds * random.uniform(1 - JITTER, 1 + JITTER)


def retry_delay(schedule: list[int], *, attempts_made: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after `attempts_made` failures; None when out of attempts."""
    if attempts_made > len(schedule):
        return None
    delay = jitter(float(schedule[attempts_made - 1]))
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class Sent:
    """What a channel's transport answered for one attempt."""

    status: int | None  # HTTP status; None when no answer arrived
    error: str = ""  # "" on success; never contains a secret (the channel scrubs it)
    retry_after: float | None = None  # seconds, from a 429/503 Retry-After
    permanent: bool = False  # a failure no retry can fix (a stored key that no longer decrypts)
    duration_ms: int | None = None
    excerpt: str = ""  # the start of the response body, for the channel's attempt log
    columns: dict[str, Any] = field(default_factory=dict)  # channel columns to save (e.g. a provider's id)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


@dataclass(frozen=True)
class NotSent:
    """The channel refuses to send the row (its endpoint or connection is off): final, not an attempt."""

    status: str
    reason: str
    result: str


class Channel:
    """One outbound channel. Subclasses set the class attributes and implement `send`.

    The model's rows have `status`, `attempts`, `next_attempt_at`, `response_status`, `updated_at`
    and the three columns named below (lease, error, sent-at). `send` returns a `Sent` (an attempt
    was made) or a `NotSent` (a final state without an attempt, e.g. a channel switched off, or a
    send that is only recorded, never made).
    """

    name: ClassVar[str]
    noun: ClassVar[str]  # for log lines: "webhook delivery", "whatsapp message"
    model: ClassVar[type[models.Model]]
    schedule_setting: ClassVar[str]  # the settings name of the retry schedule
    task: ClassVar[str]  # dotted path of the Celery task that runs attempt(channel, id)
    success_status: ClassVar[str]
    lease_field: ClassVar[str]
    error_field: ClassVar[str]
    error_max_length: ClassVar[int] = 500
    sent_at_field: ClassVar[str]
    sweep_grace: ClassVar[timedelta] = timedelta(0)  # leave fresh rows to their own task
    client_errors_final: ClassVar[bool] = True  # a 4xx other than 429 ends the row (see retryable)

    # --- configuration ---
    def lease_seconds(self) -> float:
        raise NotImplementedError

    def schedule(self) -> list[int]:
        return [int(step) for step in getattr(settings, self.schedule_setting)]

    def max_attempts(self) -> int:
        return len(self.schedule()) + 1

    def enqueue_first_attempts(self, pks: list) -> None:
        """Queue the first attempts of rows created in one `batched()` block, in creation order.
        One task each by default; a channel may send several in one task to keep their order."""
        for pk in pks:
            _enqueue_now(self, pk)

    # --- what the channel does ---
    def load(self, pk) -> models.Model | None:
        return self.model._default_manager.filter(pk=pk).first()

    def send(self, row) -> Sent | NotSent:
        raise NotImplementedError

    def log_attempt(self, row, number: int, sent: Sent) -> None:
        """Inside the recording transaction: write the channel's attempt record, if it keeps one."""

    def attempt_columns(self, sent: Sent) -> dict[str, Any]:
        """Columns of the row that describe the last attempt, besides status/attempts/error."""
        return {"response_status": sent.status, **sent.columns}

    def on_success(self, row, at: datetime) -> None:
        """Inside the recording transaction, after a successful attempt."""

    def on_failure(self, row, sent: Sent, at: datetime) -> str | None:
        """Inside the recording transaction, after a failed attempt: a result label to stop retrying
        (e.g. the endpoint was disabled), or None to follow the retry rule."""
        return None

    def gave_up(self, error: str, attempts: int) -> str:
        """The error text kept when the schedule is exhausted."""
        return error


_channels: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    """Called from the channel app's AppConfig.ready(), next to its event consumer."""
    _channels[channel.name] = channel
    return channel


def channel(name: str) -> Channel:
    return _channels[name]


# --- lease ------------------------------------------------------------------------------------
def _due(ch: Channel, at: datetime) -> QuerySet:
    return ch.model._default_manager.filter(status=PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=at + DUE_SLACK)
    )


def claim(ch: Channel, pk) -> datetime | None:
    """Lease a due PENDING row for one attempt; None when it is not ours to send."""
    current = now()
    lease = current + timedelta(seconds=ch.lease_seconds())
    if _due(ch, current).filter(pk=pk, **{f"{ch.lease_field}__isnull": True}).update(**{ch.lease_field: lease}):
        return lease
    return _take_expired_lease(ch, pk, current=current, lease=lease)


@transaction.atomic
def _take_expired_lease(ch: Channel, pk, *, current: datetime, lease: datetime) -> datetime | None:
    row = (
        _due(ch, current)
        .select_for_update(skip_locked=True)
        .filter(pk=pk, **{f"{ch.lease_field}__lt": current})
        .first()
    )
    if row is None:
        return None
    number = row.attempts + 1
    interrupted = Sent(status=None, error=INTERRUPTED, duration_ms=0)
    ch.log_attempt(row, number, interrupted)
    fields = {"attempts": number, ch.error_field: INTERRUPTED, **ch.attempt_columns(interrupted)}
    logger.warning("%s %s: attempt %s was interrupted (lease expired)", ch.noun, pk, number)
    if number >= ch.max_attempts():
        _save(ch, pk, fields, status=FAILED, next_attempt_at=None, **{ch.lease_field: None})
        return None
    _save(ch, pk, fields, **{ch.lease_field: lease})
    return lease


def _save(ch: Channel, pk, fields: dict[str, Any], **more: Any) -> int:
    return ch.model._default_manager.filter(pk=pk).update(**fields, **more, updated_at=now())


# --- one attempt ------------------------------------------------------------------------------
def attempt(ch: Channel, pk) -> str:
    """Send one attempt of a row if it is due and nobody else holds it. Returns what happened."""
    lease = claim(ch, pk)
    if lease is None:
        return NOT_CLAIMED
    row = ch.load(pk)
    if row is None:
        return GONE_AWAY
    sent = ch.send(row)
    if isinstance(sent, NotSent):
        ch.model._default_manager.filter(pk=pk, **{ch.lease_field: lease}).update(
            status=sent.status,
            next_attempt_at=None,
            updated_at=now(),
            **{ch.lease_field: None, ch.error_field: sent.reason[: ch.error_max_length]},
        )
        logger.info("%s %s not sent: %s", ch.noun, pk, sent.reason)
        return sent.result
    return _record(ch, pk, lease=lease, sent=sent)


@transaction.atomic
def _record(ch: Channel, pk, *, lease: datetime, sent: Sent) -> str:
    row: Any = ch.model._default_manager.select_for_update().filter(pk=pk, **{ch.lease_field: lease}).first()
    if row is None:  # deleted while we were sending (or our lease was taken over)
        return GONE_AWAY
    current = now()
    number = row.attempts + 1
    error = sent.error[: ch.error_max_length]
    ch.log_attempt(row, number, sent)
    fields: dict[str, Any] = {"attempts": number, ch.error_field: error, ch.lease_field: None}
    fields.update(ch.attempt_columns(sent))

    if sent.ok:
        ch.on_success(row, current)
        _save(ch, pk, fields, status=ch.success_status, next_attempt_at=None, **{ch.sent_at_field: current})
        logger.info("%s %s sent (attempt %s)", ch.noun, pk, number)
        return SUCCEEDED

    stop = ch.on_failure(row, sent, current)
    delay = None
    if stop is None and not sent.permanent and retryable(sent.status, client_errors_final=ch.client_errors_final):
        delay = retry_delay(ch.schedule(), attempts_made=number, retry_after=sent.retry_after)
        if delay is None:
            fields[ch.error_field] = ch.gave_up(error, number)[: ch.error_max_length]
    if delay is None:
        _save(ch, pk, fields, status=FAILED, next_attempt_at=None)
        logger.warning("%s %s failed (attempt %s, status %s)", ch.noun, pk, number, sent.status)
        return stop or GAVE_UP
    _save(ch, pk, fields, next_attempt_at=current + timedelta(seconds=delay))
    logger.info("%s %s attempt %s failed (status %s); retrying in %.1fs", ch.noun, pk, number, sent.status, delay)
    transaction.on_commit(lambda: enqueue(ch, pk, countdown=delay))
    return RETRY


# --- queueing and the sweeper -----------------------------------------------------------------
_batch: ContextVar[list[tuple[Channel, Any]] | None] = ContextVar("delivery_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """Inside: first attempts (enqueue without a countdown) are collected, and queued when the block
    ends, by channel, in the order they were asked for (`Channel.enqueue_first_attempts`). The outbox
    dispatches one transaction's events in one block, so a channel sees their rows together: webhooks
    send one endpoint's deliveries of those events in one task, in event order (API.md: order.created
    before order.completed). Queued even when the block raises: what was committed must be sent."""
    pending: list[tuple[Channel, Any]] = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
        by_channel: dict[str, tuple[Channel, list]] = {}
        for ch, pk in pending:
            by_channel.setdefault(ch.name, (ch, []))[1].append(pk)
        for ch, pks in by_channel.values():
            try:
                ch.enqueue_first_attempts(pks)
            except Exception:  # never lose the rest of the batch: the sweeper covers what is not queued
                logger.exception("could not queue the first attempts of %s rows; the sweeper will", ch.noun)


def enqueue(ch: Channel, pk, countdown: float | None = None) -> None:
    """Queue one attempt. Never raises: with the broker down, the sweeper re-enqueues what is due."""
    pending = _batch.get()
    if pending is not None and not countdown:
        pending.append((ch, pk))
        return
    _enqueue_now(ch, pk, countdown)


def _enqueue_now(ch: Channel, pk, countdown: float | None = None) -> None:
    if countdown is not None and countdown > COUNTDOWN_LIMIT:
        return  # the sweeper picks it up when due
    queue_task(ch, ch.task, str(pk), countdown=countdown)


def queue_task(ch: Channel, task: str, arg, *, countdown: float | None = None) -> None:
    """Queue `task(arg)`. Never raises: with the broker down, the sweeper re-enqueues what is due."""
    try:
        import_string(task).apply_async(args=[arg], countdown=countdown or None)
    except Exception:
        logger.warning("could not enqueue %s %s; the sweeper will retry", ch.noun, arg)


def sweepable(ch: Channel, *, at: datetime) -> QuerySet:
    """PENDING, due (for longer than the channel's grace), and not held by a live lease."""
    lease = ch.lease_field
    return (
        ch.model._default_manager.filter(status=PENDING, next_attempt_at__lte=at - ch.sweep_grace)
        .filter(Q(**{f"{lease}__isnull": True}) | Q(**{f"{lease}__lt": at}))
        .order_by("next_attempt_at")
    )


def sweep(ch: Channel, *, limit: int = 1000) -> int:
    """Re-enqueue due rows nobody holds (broker down at commit, worker killed, a long backoff)."""
    ids = list(sweepable(ch, at=now()).values_list("pk", flat=True)[:limit])
    for pk in ids:
        enqueue(ch, pk)
    return len(ids)
