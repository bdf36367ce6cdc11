"""The owner's pages for customers and wallets, all scoped to the owner's store.

- Customers: list with tier and balance (one query: tier joined, balance annotated), add/change through
  wallets.services (so a phone given here is linked exactly as through the API);
- "Recharge wallet" and "Adjust balance" forms per customer, calling wallets.services;
- the ledger: read-only everywhere (no add, change or delete).
"""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.admin import ReadOnlyAdminMixin, StoreScopedAdminMixin, user_store_ids
from nuvlyx.core.errors import DomainError, owner_text
from nuvlyx.core.forms import LocalMoneyField
from nuvlyx.core.models import Store
from nuvlyx.core.money import money_display
from nuvlyx.core.phones import PhoneError, parse_local_phone

from . import services
from .models import Customer, LedgerEntry

_SYSTEM_NOTE = re.compile(
    "^(?:(?P<payment>{})|{}|{})(?:: (?P<reason>.*))?$".format(
        re.escape(services.NOTE_ORDER_PAYMENT),
        re.escape(services.NOTE_REFUND).replace(r"\{order\}", r"(?P<refund>ORD-\d+)"),
        re.escape(services.NOTE_CANCELLATION).replace(r"\{order\}", r"(?P<cancellation>ORD-\d+)"),
    ),
    re.S,
)


def note_for_owner(note: str) -> str:
    """A ledger note as the owner reads it: the notes the system writes (wallets.services.NOTE_*)
    in the owner's language, the owner's own reason after them as typed; any other note as written."""
    match = _SYSTEM_NOTE.match(note or "")
    if match is None:
        return note
    if match["payment"]:
        text = gettext("Order payment")
    elif match["refund"]:
        text = gettext("Refund of %(order)s") % {"order": match["refund"]}
    else:
        text = gettext("Cancellation of %(order)s") % {"order": match["cancellation"]}
    return f"{text}: {match['reason']}" if match["reason"] else text


class CustomerAdminForm(forms.ModelForm):
    link_phone = forms.BooleanField(
        required=False, initial=True, label=_("Phone linked"), help_text=_("A linked phone identifies the customer.")
    )

    class Meta:
        model = Customer
        fields = ("store", "name", "email", "phone", "tier")

    request = None  # set by CustomerAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["link_phone"].initial = self.instance.phone_linked
        if "phone" in self.fields:  # the model's help is the API's (E.164); the panel reads local numbers too
            self.fields["phone"].help_text = _(
                "As your customers write it, e.g. 300 555 1234, or with the country code: +57 300 555 1234."
            )

    def target_store(self):
        store = self.cleaned_data.get("store") if "store" in self.fields else None
        if store is None and not self.instance._state.adding:
            store = self.instance.store
        if store is None and self.request is not None:
            ids = user_store_ids(self.request)
            store = Store.objects.filter(pk=ids[0]).first() if ids else None
        return store

    def clean_phone(self):
        phone = self.cleaned_data.get("phone")
        if not phone:
            return None
        store = self.target_store()
        try:
            return parse_local_phone(phone, store.country if store else "CO")  # "300 555 1234" → +573005551234
        except PhoneError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        store = self.target_store()
        if store is None:
            raise forms.ValidationError(_("Choose a store."))
        tier = cleaned.get("tier")
        if tier is not None and tier.store_id != store.pk:
            self.add_error("tier", _("This price tier belongs to another store."))
        phone = cleaned.get("phone")
        if phone and cleaned.get("link_phone"):
            clash = Customer.objects.filter(store=store, phone=phone, phone_linked_at__isnull=False)
            if not self.instance._state.adding:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("phone", _("Another customer of this store has already linked this phone."))
        return cleaned

    def validate_constraints(self):
        """The linked-phone constraint is checked in clean() (the store may be excluded from the form)."""


class WalletChangeForm(forms.Form):
    amount = LocalMoneyField(
        label=_("Amount"), allow_zero=False, help_text=_('In your store\'s format, e.g. "50.000" or "50.000,50".')
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    allow_negative = False

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].store = store
        self.fields["amount"].allow_negative = self.allow_negative


class WalletAdjustForm(WalletChangeForm):
    allow_negative = True


@admin.register(Customer)
class CustomerAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = ("name", "phone", "tier", "balance", "wallet_links")
    list_filter = ("tier",)
    search_fields = ("name", "email", "phone")
    readonly_fields = ("balance", "phone_linked_at", "created_at", "recent_ledger")
    list_select_related = ("tier",)

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("tier", "store")
        return qs.annotate(wallet_balance=F("wallet__balance"))

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_fields(self, request, obj=None):
        fields = ["store", "name", "email", "phone", "link_phone", "tier"]
        if "store" in self.get_exclude(request, obj):
            fields.remove("store")
        if obj is not None:
            fields += ["balance", "phone_linked_at", "created_at", "recent_ledger"]
        return fields

    @admin.display(description=_("Linked"), boolean=True)
    def phone_linked_flag(self, obj):
        return obj.phone_linked

    @admin.display(description=_("Balance"), ordering="wallet_balance")
    def balance(self, obj):
        if hasattr(obj, "wallet_balance"):
            value = obj.wallet_balance
        else:
            value = services.wallet_balance_at(customer=obj) if obj.pk else None
        return money_display(value or 0, obj.store)

    @admin.display(description=_("Wallet"))
    def wallet_links(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:wallets_customer_recharge", args=[obj.pk]),
            _("Recharge"),
            reverse("admin:wallets_customer_adjust", args=[obj.pk]),
            _("Adjust"),
            reverse("admin:wallets_ledgerentry_changelist") + f"?wallet__customer__id__exact={obj.pk}",
            _("Ledger"),
        )

    @admin.display(description=_("Latest ledger entries"))
    def recent_ledger(self, obj):
        entries = LedgerEntry.objects.filter(wallet_id=obj.pk).order_by("-created_at", "-id")[:20]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(e.created_at), "SHORT_DATETIME_FORMAT"),  # store's local time
                    e.get_kind_display(),
                    money_display(e.amount, obj.store),
                    money_display(e.balance_after, obj.store),
                    note_for_owner(e.note) or e.reference,
                )
                for e in entries
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("When"),
            _("Type"),
            _("Amount"),
            _("Balance after"),
            _("Note"),
            rows,
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            original = Customer.objects.select_related("store", "tier").get(pk=obj.pk)
            customer = services.customer_update(
                customer=original,
                name=data["name"],
                email=data.get("email") or "",
                phone=data.get("phone"),
                tier=data.get("tier"),
                link_phone=bool(data.get("link_phone")),
            )
            services.wallet_ensure(customer=customer)
        else:
            customer = services.customer_create(
                store=form.target_store(),
                name=data["name"],
                email=data.get("email") or "",
                phone=data.get("phone"),
                tier=data.get("tier"),
                link_phone=bool(data.get("link_phone")),
            )
        obj.pk = customer.pk
        obj.store_id = customer.store_id
        obj.phone_linked_at = customer.phone_linked_at
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many fields; the service saved everything

    def has_delete_permission(self, request, obj=None):
        return False  # a customer's ledger is kept forever

    # --- wallet forms ---------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/recharge/", view(self.recharge_view), name="wallets_customer_recharge"),
            path("<path:object_id>/adjust/", view(self.adjust_view), name="wallets_customer_adjust"),
            *super().get_urls(),
        ]

    def recharge_view(self, request, object_id):
        return self._wallet_view(request, object_id, WalletChangeForm, _("Recharge wallet"), services.wallet_recharge)

    def adjust_view(self, request, object_id):
        return self._wallet_view(request, object_id, WalletAdjustForm, _("Adjust balance"), services.wallet_adjust)

    def _wallet_view(self, request, object_id, form_class, title, service):
        customer = self.get_object(request, unquote(object_id))
        if customer is None:
            raise Http404(_("Not found."))
        if not self.has_change_permission(request, customer):
            raise PermissionDenied
        form = form_class(request.POST or None, store=customer.store)
        if request.method == "POST" and form.is_valid():
            try:
                entry = service(
                    customer=customer,
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                    actor_user=request.user,
                )
            except DomainError as exc:
                form.add_error("amount", owner_text(exc, customer.store))
            else:
                self.message_user(
                    request,
                    _("%(action)s: %(amount)s for %(customer)s. New balance: %(balance)s.")
                    % {
                        "action": title,
                        "amount": money_display(entry.amount, customer.store),
                        "customer": customer.name,
                        "balance": money_display(entry.balance_after, customer.store),
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:wallets_customer_change", args=[customer.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(action)s: %(customer)s") % {"action": title, "customer": customer.name},
            "opts": self.opts,
            "original": customer,
            "form": form,
            "balance": self.balance(customer),
        }
        return TemplateResponse(request, "admin/wallets/wallet_change.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    """The ledger, read-only: entries are append-only (model, admin and a database trigger)."""

    list_display = ("created_at", "customer_name", "kind", "amount_shown", "balance_shown", "note_shown")
    list_filter = ("kind",)
    search_fields = ("wallet__customer__name", "wallet__customer__phone", "reference", "note")
    list_select_related = ("wallet__customer", "actor_user", "store")
    date_hierarchy = "created_at"

    @admin.display(description=_("Customer"), ordering="wallet__customer__name")
    def customer_name(self, obj):
        return obj.wallet.customer.name

    @admin.display(description=_("Note"), ordering="note")
    def note_shown(self, obj):
        return note_for_owner(obj.note)

    @admin.display(description=_("Amount"), ordering="amount")
    def amount_shown(self, obj):
        return money_display(obj.amount, obj.store)

    @admin.display(description=_("Balance after"), ordering="balance_after")
    def balance_shown(self, obj):
        return money_display(obj.balance_after, obj.store)

    @admin.display(description=_("By"))
    def actor(self, obj):
        if obj.actor_user_id:
            return str(obj.actor_user)
        if obj.actor_token_id:
            return _("API token")
        return _("system")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "wallet__customer__id__exact" or super().lookup_allowed(lookup, value, request)

    def get_actions(self, request):
        return {}
