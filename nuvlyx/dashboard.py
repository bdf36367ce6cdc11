"""The owner's dashboard (the admin home): how the store is doing, in the store's time zone.

A selector over every domain app, so it lives in the project package (which composes the apps),
not in core. A fixed number of queries whatever the data size (tests/test_admin_l10n.py holds it).
"Sales" are orders whose money the store keeps: COMPLETED and PROCESSING (paid, being fulfilled);
REFUNDED, CANCELLED, FAILED and PENDING orders are not sales.
"""

import zoneinfo
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, Variation
from integrations.models import MessageLog
from nuvlyx.core.money import money_display
from orders.models import Order
from wallets.models import Wallet
from webhooks.models import WebhookEndpoint

SALE_STATUSES = (Order.Status.COMPLETED, Order.Status.PROCESSING)
CHART_DAYS = 30
LIST_SIZE = 10


def store_dashboard(*, store, now: datetime | None = None) -> dict:
    tz = zoneinfo.ZoneInfo(store.timezone)
    now = (now or timezone.now()).astimezone(tz)
    today = now.date()
    start_today = datetime.combine(today, time.min, tzinfo=tz)
    start_7 = start_today - timedelta(days=6)
    start_30 = start_today - timedelta(days=CHART_DAYS - 1)
    orders = Order.objects.filter(store_id=store.pk)
    sales = orders.filter(status__in=SALE_STATUSES, created_at__gte=start_30)

    def total(since):
        return Sum("total_amount", filter=Q(created_at__gte=since), default=Decimal(0))

    def count(since):
        return Count("id", filter=Q(created_at__gte=since))

    figures = sales.aggregate(  # 1
        today=total(start_today),
        week=total(start_7),
        month=total(start_30),
        today_n=count(start_today),
        week_n=count(start_7),
        month_n=count(start_30),
    )
    by_status = dict(  # 2
        orders.filter(created_at__gte=start_30).values_list("status").annotate(n=Count("id")).order_by()
    )
    wallets = Wallet.objects.filter(store_id=store.pk).aggregate(  # 3
        held=Sum("balance", default=Decimal(0)), funded=Count("customer_id", filter=Q(balance__gt=0))
    )
    low_stock = list(  # 4
        Variation.objects.filter(
            store_id=store.pk, depends_on_stock=True, stock_available__lte=F("low_stock_threshold")
        )
        .exclude(product__status=Product.Status.ARCHIVED)
        .select_related("product")
        .order_by("stock_available", "product__name", "sku")[:LIST_SIZE]
    )
    failing_endpoints = list(  # 5
        WebhookEndpoint.objects.filter(store_id=store.pk)
        .filter(Q(failing_since__isnull=False) | Q(disabled_at__isnull=False))
        .order_by("failing_since", "created_at")[:LIST_SIZE]
    )
    failed_messages = list(  # 6
        MessageLog.objects.filter(store_id=store.pk, status=MessageLog.Status.FAILED, created_at__gte=start_7).order_by(
            "-created_at"
        )[:LIST_SIZE]
    )
    latest_orders = list(orders.select_related("customer").order_by("-created_at", "-number")[:LIST_SIZE])  # 7
    per_day = dict(  # 8
        sales.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values_list("day")
        .annotate(total=Sum("total_amount"))
        .order_by()
    )
    return {
        "store": store,
        "today": today,
        "sales": [
            {"label": _("Today"), "amount": money_display(figures["today"], store), "orders": figures["today_n"]},
            {"label": _("Last 7 days"), "amount": money_display(figures["week"], store), "orders": figures["week_n"]},
            {
                "label": _("Last 30 days"),
                "amount": money_display(figures["month"], store),
                "orders": figures["month_n"],
            },
        ],
        "sales_raw": {k: figures[k] for k in ("today", "week", "month")},
        "orders_by_status": [
            {"status": status.label, "code": status.value, "count": by_status.get(status.value, 0)}
            for status in Order.Status
        ],
        "wallets_held": money_display(wallets["held"], store),
        "wallets_held_raw": wallets["held"],
        "wallets_funded": wallets["funded"],
        "low_stock": low_stock,
        "failing_endpoints": failing_endpoints,
        "failed_messages": failed_messages,
        "latest_orders": [{"order": o, "total": money_display(o.total_amount, store)} for o in latest_orders],
        "chart": _chart(per_day, start_30.date(), store),
    }


def _chart(per_day: dict, first_day, store) -> dict:
    """Bars for an inline SVG (no JavaScript, no CDN): one per day, tallest = 100."""
    days = [first_day + timedelta(days=i) for i in range(CHART_DAYS)]
    values = [per_day.get(day) or Decimal(0) for day in days]
    peak = max(values) or Decimal(1)
    width, height, gap = 20, 100, 4
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        h = int((value / peak) * height) if value else 0
        bars.append(
            {
                "x": i * (width + gap),
                "y": height - h,
                "h": h,
                "w": width,
                "day": day,
                "amount": money_display(value, store),
                "raw": value,
            }
        )
    return {"bars": bars, "width": CHART_DAYS * (width + gap), "height": height, "peak": money_display(peak, store)}
