"""Subscription expiry reminders: license.expiring (daysLeft) and license.expired, once per item and point.

A beat task (orders.send_license_reminders) calls `reminders_run()`. Each pass claims the due reminder
points with one INSERT … ON CONFLICT DO NOTHING RETURNING (orders/sql.py REMINDERS_CLAIM) and, in the same
transaction, emits the events of the claimed rows through the outbox. The unique (item, point) constraint
is the exactly-once guarantee: any number of beat or worker processes may run passes at the same time.

Catch-up without flooding: a point whose moment passed more than a day ago (the task did not run:
downtime) is claimed SKIPPED and emits nothing; when several expiring points of one item are due at once,
only the latest (fewest days left) is sent and the others are SKIPPED too. Skips are logged and counted
(the task's result, `manage.py license_reminders`, and the admin's "License reminders" list).
See docs/orders.md "Subscriptions".
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count

from nuvlyx.core.events import emit_many
from nuvlyx.core.models import Store
from nuvlyx.core.timeutil import now

from . import sql
from .models import DEFAULT_REMINDER_DAYS, LicenseReminder, OrderItem
from .render import license_holding
from .selectors import _LICENSE_FIELDS

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Items whose expiry is older than this are never looked at again (their points are long past).
LOOKBACK = timedelta(days=7)
MAX_REMINDER_DAYS = 365


@dataclass
class ReminderRun:
    sent: int = 0
    skipped: int = 0

    def as_dict(self) -> dict:
        return {"sent": self.sent, "skipped": self.skipped}


def reminders_run(*, at=None, batch_size: int = BATCH_SIZE) -> ReminderRun:
    """Claim and emit every due reminder point; returns how many were sent and skipped."""
    result = ReminderRun()
    while True:
        sent, skipped = _claim_batch(at=at or now(), batch_size=batch_size)
        result.sent += sent
        result.skipped += skipped
        if sent + skipped < batch_size:
            break
    if result.skipped:
        logger.warning(
            "license reminders: %d point(s) skipped (due more than a day ago: the task was not running)",
            result.skipped,
        )
    if result.sent:
        logger.info("license reminders: %d event(s) emitted", result.sent)
    return result


@transaction.atomic
def _claim_batch(*, at, batch_size: int) -> tuple[int, int]:
    params = {
        "now": at,
        "default_days": list(DEFAULT_REMINDER_DAYS),
        "oldest": at - LOOKBACK,
        "newest": at + timedelta(days=MAX_REMINDER_DAYS + 1),
        "limit": batch_size,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.REMINDERS_CLAIM, params)
        claimed = cursor.fetchall()
    if not claimed:
        return 0, 0

    # Several expiring points of one item due at once (late run): send the latest only.
    by_item: dict = {}
    for reminder_id, store_id, item_id, point, status in claimed:
        if status == LicenseReminder.Status.SENT:
            by_item.setdefault(item_id, []).append((reminder_id, store_id, point))
    late, to_send = [], []
    for item_id, rows in by_item.items():
        expiring = sorted((row for row in rows if row[2] != LicenseReminder.EXPIRED_POINT), key=lambda r: r[2])
        late += [row[0] for row in expiring[1:]]
        keep = expiring[:1] + [row for row in rows if row[2] == LicenseReminder.EXPIRED_POINT]
        to_send += [(item_id, store_id, point) for _, store_id, point in keep]
    if late:
        LicenseReminder.objects.filter(pk__in=late).update(status=LicenseReminder.Status.SKIPPED)

    if to_send:
        items = {
            row[1]: row
            for row in OrderItem.objects.filter(pk__in={i for i, _, _ in to_send}).values_list(*_LICENSE_FIELDS)
        }
        stores = Store.objects.in_bulk({store_id for _, store_id, _ in to_send})
        events_by_store: dict = {}
        for item_id, store_id, point in sorted(to_send, key=lambda r: (str(r[0]), -r[2])):
            data = license_holding(items[item_id], at)
            if point == LicenseReminder.EXPIRED_POINT:
                events_by_store.setdefault(store_id, []).append(("license.expired", data))
            else:
                events_by_store.setdefault(store_id, []).append(("license.expiring", {**data, "daysLeft": point}))
        for store_id, events in events_by_store.items():
            emit_many(store=stores[store_id], events=events)
    skipped = len(claimed) - len(to_send)
    return len(to_send), skipped


def reminder_counts(*, since=None) -> dict:
    """How many reminder points were sent and skipped (since `since`, or ever): the operator's counter."""
    qs = LicenseReminder.objects.all()
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {"sent": counts.get("SENT", 0), "skipped": counts.get("SKIPPED", 0)}
