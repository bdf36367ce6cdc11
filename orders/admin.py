"""The owner's pages for orders, scoped to the owner's store: list (no credentials), filters, a read-only
detail page whose items show the decrypted credentials, "Fulfil" for PENDING items (SERVICE / non-stock),
and Refund / Cancel buttons (with a reason, behind a confirmation page; no bulk refund). License stock
is a catalog page (catalog/admin.py).

- Warranty replacements: "Replace" on each delivered item of the order page (confirmation page with a reason),
  through orders.services.order_item_replace (the API's service).
- Subscription settings (reminder days, replacements per item) and the License reminders log (sent / skipped).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.stock import MAX_CREDENTIALS_LENGTH
from nuvlyx.core.admin import (
    ObjectActionRefused,
    OptionalReasonForm,
    ReasonForm,
    StoreScopedAdminMixin,
    StoreScopedInlineMixin,
    object_action,
    user_store_ids,
)
from nuvlyx.core.crypto import DecryptionError, decrypt
from nuvlyx.core.errors import DomainError, owner_text
from nuvlyx.core.money import money_display

from .models import LicenseReminder, Order, OrderItem, OrderItemReplacement, SubscriptionSettings
from .selectors import subscription_settings_for
from .services import order_cancel, order_fulfil_item, order_item_replace, order_refund


def _reveal(item: OrderItem) -> str:
    try:
        if item.license_id:
            return decrypt(item.license.credentials_encrypted)
        if item.fulfilment_credentials_encrypted:
            return decrypt(item.fulfilment_credentials_encrypted)
    except DecryptionError:
        return str(_("(cannot be decrypted with the configured keys)"))
    return ""


class OrderItemInline(StoreScopedInlineMixin, admin.TabularInline):
    """Only rendered on an order's detail page: the one place credentials are shown in clear."""

    model = OrderItem
    extra = 0
    can_delete = False
    fields = (
        "position",
        "product_name",
        "sku",
        "price",
        "status",
        "credentials",
        "fulfilment_note",
        "delivered_at",
        "expires_at",
        "replacement_count",
        "fulfil",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("license", "order__store")
            .annotate(replacement_total=models.Count("replacements"))
        )

    @admin.display(description=_("Replacements"))
    def replacement_count(self, item):
        return getattr(item, "replacement_total", 0) or "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Price paid"))
    def price(self, item):
        return money_display(item.price_paid, item.order.store)

    @admin.display(description=_("Credentials"))
    def credentials(self, item):
        value = _reveal(item)
        return format_html("<code style='white-space:pre-wrap'>{}</code>", value) if value else "—"

    @admin.display(description="")
    def fulfil(self, item):
        if item.status == OrderItem.Status.PENDING and item.order.status == Order.Status.PROCESSING:
            url = reverse("admin:orders_order_fulfil", args=[item.order_id, item.pk])
            return format_html('<a class="button" href="{}">{}</a>', url, _("Fulfil"))
        if item.status == OrderItem.Status.DELIVERED and item.license_id:
            limit = subscription_settings_for(item.order.store).max_replacements_per_item
            if OrderItemReplacement.objects.filter(item=item).count() >= limit:
                return _("Replaced %(limit)s time(s): the most your store allows.") % {"limit": limit}
            url = reverse("admin:orders_order_replace", args=[item.order_id, item.pk])
            return format_html('<a class="button" href="{}">{}</a>', url, _("Replace (warranty)"))
        return ""


class FulfilForm(forms.Form):
    credentials = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        required=False,
        max_length=MAX_CREDENTIALS_LENGTH,
        help_text=_("Stored encrypted; shown to the customer's bot through the API and webhooks."),
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if not (data.get("credentials") or "").strip() and not (data.get("note") or "").strip():
            raise forms.ValidationError(_("Enter the credentials or a note."))
        return data


class ReplaceForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the item's replacement history (shown in the API's order detail)."),
    )


def _refund_consequence(order, verb):
    return _(
        "%(verb)s %(order)s: %(amount)s go back to the wallet of %(customer)s and every item is "
        "marked refunded. Licenses already delivered stay delivered. This cannot be undone."
    ) % {
        "verb": verb,
        "order": order.order_number,
        "amount": money_display(order.total_amount, order.store),
        "customer": order.customer.name,
    }


def _give_back(service, request, order, data, done: str) -> str:
    """Refund or cancel through the API's service, with the owner's reason on the ledger entry."""
    try:
        result = service(store=order.store, order_id=order.pk, actor_user=request.user, reason=data.get("reason", ""))
    except DomainError as exc:
        raise ObjectActionRefused(owner_text(exc, order.store)) from None
    return done % {"order": order.order_number, "amount": money_display(result.refunded_amount, order.store)}


@admin.register(Order)
class OrderAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("order_number", "customer", "status", "total", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("customer__name", "customer__phone", "customer__email", "notes")
    list_select_related = ("customer", "store")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-number")
    actions = None  # refunds and cancellations are buttons on the order's page, with a reason
    object_actions = ("refund", "cancel")
    inlines = [OrderItemInline]
    readonly_fields = (
        "order_number",
        "customer",
        "status",
        "total",
        "currency",
        "notes",
        "created_at",
        "updated_at",
        "completed_at",
        "refunded_at",
        "cancelled_at",
    )
    fields = readonly_fields

    @admin.display(description=_("Number"), ordering="number")
    def order_number(self, order):
        return order.order_number

    @admin.display(description=_("Total"), ordering="total_amount")
    def total(self, order):
        return money_display(order.total_amount, order.store, order.currency)

    def has_add_permission(self, request, *args):
        return False  # orders are placed through order_place (API), never typed in

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only page; changes go through Fulfil / Refund / Cancel

    @object_action(
        label=_("Refund"),
        describe=lambda order: _refund_consequence(order, _("Refund")),
        form=ReasonForm,
        available=lambda order: order.status in (Order.Status.COMPLETED, Order.Status.PROCESSING),
        danger=True,
    )
    def refund(self, request, order, data):
        return _give_back(order_refund, request, order, data, _("%(order)s refunded: %(amount)s back to the wallet."))

    @object_action(
        label=_("Cancel order"),
        describe=lambda order: _refund_consequence(order, _("Cancel")),
        form=OptionalReasonForm,
        available=lambda order: order.status in (Order.Status.PENDING, Order.Status.PROCESSING),
        danger=True,
    )
    def cancel(self, request, order, data):
        return _give_back(order_cancel, request, order, data, _("%(order)s cancelled: %(amount)s back to the wallet."))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/fulfil/<uuid:item_id>/",
                self.admin_site.admin_view(self.fulfil_view),
                name="orders_order_fulfil",
            ),
            path(
                "<path:object_id>/replace/<uuid:item_id>/",
                self.admin_site.admin_view(self.replace_view),
                name="orders_order_replace",
            ),
            *super().get_urls(),
        ]

    def _order_item(self, request, object_id, item_id) -> tuple[Order, OrderItem]:
        order = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if order is None:
            raise Http404
        if not (request.user.is_superuser or order.store_id in user_store_ids(request)):
            raise PermissionDenied
        item = OrderItem.objects.filter(order=order, pk=item_id).first()
        if item is None:
            raise Http404
        return order, item

    def replace_view(self, request, object_id, item_id):
        """Warranty replacement of one item's license: a confirmation page with a reason, then the API's service."""
        order, item = self._order_item(request, object_id, item_id)
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        form = ReplaceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                order_item_replace(
                    store=order.store,
                    order_id=order.pk,
                    item_id=item.pk,
                    reason=form.cleaned_data["reason"],
                    actor_user=request.user,
                )
            except DomainError as exc:
                self.message_user(request, owner_text(exc, order.store), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(sku)s of %(order)s replaced with a new license.")
                    % {"sku": item.sku, "order": order.order_number},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        limit = subscription_settings_for(order.store).max_replacements_per_item
        done = OrderItemReplacement.objects.filter(item=item).count()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": order,
            "form": form,
            "title": _("Replace %(product)s (%(sku)s)") % {"product": item.product_name, "sku": item.sku},
            "submit_label": _("Replace"),
            "intro": _(
                "%(order)s: a new license of %(sku)s from stock replaces the delivered one, which is marked "
                "replaced and never returns to stock. The expiry stays the same and nothing is charged. "
                "Replacements of this item so far: %(done)s of %(limit)s."
            )
            % {"order": order.order_number, "sku": item.sku, "done": done, "limit": limit},
        }
        return TemplateResponse(request, "admin/nuvlyx/form_page.html", context)

    def fulfil_view(self, request, object_id, item_id):
        order, item = self._order_item(request, object_id, item_id)
        form = FulfilForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                order_fulfil_item(
                    store=order.store,
                    item_id=item.pk,
                    credentials=form.cleaned_data["credentials"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                form.add_error(None, owner_text(exc, order.store))
            else:
                self.message_user(request, _("%(sku)s delivered.") % {"sku": item.sku}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": order,
            "form": form,
            "title": _("Fulfil %(product)s (%(sku)s)") % {"product": item.product_name, "sku": item.sku},
            "submit_label": _("Deliver"),
            "intro": str(order),
        }
        return TemplateResponse(request, "admin/nuvlyx/form_page.html", context)


@admin.register(SubscriptionSettings)
class SubscriptionSettingsAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """One row per store; without it the defaults apply (reminders 3, 1 and 0 days before; 3 replacements)."""

    list_display = ("__str__", "reminder_days_display", "max_replacements_per_item", "updated_at")

    def get_fields(self, request, obj=None):
        fields = ["reminder_days", "max_replacements_per_item"]
        if obj is None and (request.user.is_superuser or len(user_store_ids(request)) > 1):
            return ["store", *fields]  # who creates it chooses the store; an owner's only store is implied
        return fields

    def add_view(self, request, form_url="", extra_context=None):
        # One row per store: an owner whose store has it already edits it (no query on the admin index,
        # which asks every ModelAdmin whether adding is allowed).
        if not request.user.is_superuser:
            existing = SubscriptionSettings.objects.filter(store_id__in=user_store_ids(request)).first()
            if existing is not None:
                return HttpResponseRedirect(reverse("admin:orders_subscriptionsettings_change", args=[existing.pk]))
        return super().add_view(request, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Reminder days"))
    def reminder_days_display(self, obj):
        return ", ".join(str(day) for day in obj.reminder_days) or "—"


@admin.register(LicenseReminder)
class LicenseReminderAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Read-only log: every reminder point sent, and the ones skipped because they were over a day late."""

    list_display = ("item_label", "point_label", "status", "due_at", "created_at")
    list_filter = ("status", "created_at")
    list_select_related = ("item__order",)
    ordering = ("-created_at",)
    actions = None

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Order item"))
    def item_label(self, reminder):
        return f"{reminder.item.order.order_number} · {reminder.item.sku}"

    @admin.display(description=_("Reminder point"), ordering="point")
    def point_label(self, reminder):
        if reminder.point == LicenseReminder.EXPIRED_POINT:
            return _("Expired")
        return _("%(days)s day(s) before expiry") % {"days": reminder.point}
