"""Settings → API Tokens (create, shown once; list; revoke) and Settings → WhatsApp (Mosend). Store-scoped."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.admin import (
    ReadOnlyAdminMixin,
    SecretShownOnceMixin,
    StoreScopedAdminMixin,
    object_action,
    user_store_ids,
)
from nuvlyx.core.models import Store, StoreMember
from nuvlyx.core.sandbox import live_store_of
from nuvlyx.core.scopes import SCOPES

from . import tokens, whatsapp
from .models import ApiToken, MessageLog, MosendConnection, TemplateRoute
from .services import TokenError, api_token_create, api_token_revoke

SCOPE_LABELS = {
    "products:read": _("Products: read"),
    "products:write": _("Products: change"),
    "orders:read": _("Orders: read"),
    "orders:write": _("Orders: place, refund, cancel"),
    "customers:read": _("Customers: read"),
    "customers:write": _("Customers: change"),
    "wallet:read": _("Wallets: read"),
    "wallet:write": _("Wallets: recharge"),
    "inventory:read": _("Stock: read"),
    "inventory:write": _("Stock: import"),
    "webhooks:manage": _("Webhooks: manage"),
}


def scope_labels(scopes) -> list[str]:
    return [str(SCOPE_LABELS.get(scope, scope)) for scope in scopes]


MODE_LIVE, MODE_TEST = "live", "test"


class ApiTokenLimitsForm(forms.ModelForm):
    """Expiry and rate limit, on the create and the change form: an expiry already past would make a
    token that never works, and 0 requests per minute is not "the default" (leave it empty for that)."""

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now() and expires_at != self.initial.get("expires_at"):
            raise forms.ValidationError(_("Choose a moment in the future (or leave it empty: never expires)."))
        return expires_at

    def clean_rate_limit_per_minute(self):
        limit = self.cleaned_data.get("rate_limit_per_minute")
        if limit is not None and limit < 1:
            raise forms.ValidationError(_("At least 1 request per minute (leave it empty for the default)."))
        return limit


class ApiTokenCreateForm(ApiTokenLimitsForm):
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[
            (MODE_LIVE, _("Live (nvl_live_…): your real store")),
            (MODE_TEST, _("Test (nvl_test_…): the sandbox, test data only")),
        ],
        widget=forms.RadioSelect,
        help_text=_("Chosen explicitly: a test token can never read or change live data."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=[(s, SCOPE_LABELS.get(s, s)) for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiToken
        fields = ("store", "mode", "name", "scopes", "expires_at", "rate_limit_per_minute")


@admin.register(ApiToken)
class ApiTokenAdmin(SecretShownOnceMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    secret_once_template = "admin/integrations/token_reveal.html"
    list_display = ("name", "prefix", "mode_label", "created_at", "last_used_at", "status_label")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = None  # revoking is a button on the token's page, with a confirmation
    object_actions = ("revoke",)
    readonly_fields = ("prefix", "scope_list", "created_by", "created_at", "last_used_at", "revoked_at", "status_label")
    fields = (
        "name",
        "prefix",
        "scope_list",
        "rate_limit_per_minute",
        "expires_at",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "status_label",
    )

    def get_queryset(self, request):
        """Live and test tokens of the member's stores, whichever world the admin shows: both are
        created and revoked from this one page."""
        qs = super(StoreScopedAdminMixin, self).get_queryset(request)
        if request.user.is_superuser:
            return qs
        live_ids = list(StoreMember.objects.filter(user=request.user).values_list("store_id", flat=True))
        return qs.filter(Q(store_id__in=live_ids) | Q(store__sandbox_of_id__in=live_ids))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "store" and field is not None:
            field.queryset = field.queryset.filter(sandbox_of__isnull=True)  # the mode picks the world
        return field

    @admin.display(description=_("Mode"))
    def mode_label(self, obj):
        return _("Test") if obj.prefix.startswith(tokens.TEST_TOKEN_PREFIX) else _("Live")

    form = ApiTokenLimitsForm

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
            kwargs["fields"] = ApiTokenCreateForm.Meta.fields
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = list(ApiTokenCreateForm.Meta.fields)
            if not request.user.is_superuser and len(user_store_ids(request)) == 1:
                fields.remove("store")
            return fields
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    @admin.display(description=_("Permissions"))
    def scope_list(self, obj):
        return ", ".join(scope_labels(obj.scopes))

    @admin.display(description=_("Status"))
    def status_label(self, obj):
        return {"active": _("Active"), "expired": _("Expired"), "revoked": _("Revoked")}[obj.status]

    def reveal_context(self, obj) -> dict:
        return {"scope_labels": scope_labels(obj.scopes)}

    def has_delete_permission(self, request, obj=None):
        return False  # tokens are revoked, never deleted (audit trail)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "expires_at", "rate_limit_per_minute"])
            return
        store = form.cleaned_data.get("store") if "store" in form.cleaned_data else None
        if store is None:
            store = Store.objects.get(pk=user_store_ids(request)[0])
        token, plaintext = api_token_create(
            store=live_store_of(store),
            livemode=form.cleaned_data["mode"] == MODE_LIVE,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            rate_limit_per_minute=form.cleaned_data.get("rate_limit_per_minute"),
            created_by=request.user,
        )
        obj.pk = token.pk
        self.show_secret_once(request, token, plaintext)

    @object_action(
        label=_("Revoke token"),
        describe=lambda token: (
            _(
                "The token “%(name)s” (%(prefix)s…) stops working at once: every request that uses it is refused. "
                "This cannot be undone; create a new token if you need one."
            )
            % {"name": token.name, "prefix": token.prefix}
        ),
        available=lambda token: token.revoked_at is None,
        danger=True,
    )
    def revoke(self, request, token, data):
        api_token_revoke(token=token)
        return _("Token “%(name)s” revoked.") % {"name": token.name}


# --- Settings → WhatsApp (Mosend) (docs/whatsapp.md) -----------------------------------------


def _store_fields(request, fields: list[str], obj=None) -> list[str]:
    """The store field only for superusers (and multi-store members) creating a row."""
    if obj is not None or (not request.user.is_superuser and len(user_store_ids(request)) == 1):
        return [f for f in fields if f != "store"]
    return fields


class MosendConnectionForm(forms.ModelForm):
    api_key = forms.CharField(
        label=_("Mosend API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only: stored encrypted; only its last 4 characters are shown. Leave empty to keep it."),
    )

    class Meta:
        model = MosendConnection
        fields = ("store", "sender", "enabled")

    def clean_api_key(self):
        key = self.cleaned_data.get("api_key") or ""
        if key and not all(" " < ch < "\x7f" for ch in key):  # it travels in an HTTP header
            raise forms.ValidationError(
                _(
                    "The key has spaces or characters that are not plain letters, digits or symbols: "
                    "copy it again from Mosend."
                )
            )
        return key

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("api_key") and not self.instance.api_key_encrypted:
            self.add_error("api_key", _("The Mosend API key is required."))
        return cleaned


@admin.register(MosendConnection)
class MosendConnectionAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = MosendConnectionForm
    list_display = ("__str__", "sender", "api_key_hint", "enabled", "updated_at")
    readonly_fields = ("api_key_hint", "test_connection", "created_at", "updated_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return _store_fields(request, ["store", "api_key", "sender", "enabled"])
        return ["api_key_hint", "api_key", "sender", "enabled", "test_connection", "created_at", "updated_at"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["fields"] = [f for f in self.get_fields(request, obj) if f not in self.readonly_fields]
        return super().get_form(request, obj, **kwargs)

    def has_add_permission(self, request, *args):
        if not super().has_add_permission(request, *args):
            return False
        if request.user.is_superuser:
            return True
        return not MosendConnection.objects.filter(store_id__in=user_store_ids(request)).exists()

    @admin.display(description=_("API key"))
    def api_key_hint(self, obj):
        return f"····{obj.api_key_last4}" if obj and obj.api_key_last4 else "—"

    @admin.display(description=_("Test connection"))
    def test_connection(self, obj):
        if obj is None or obj.pk is None:
            return _("Save first.")
        url = reverse("admin:integrations_mosendconnection_test", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" name="_test_connection">'
            '{}</button> <span class="help">{}</span>',
            url,
            _("Test connection"),
            _("Calls Mosend with the saved key."),
        )

    def save_model(self, request, obj, form, change):
        store = obj.store if obj.store_id else self.owner_store(request)
        whatsapp.mosend_connection_save(
            store=store,
            api_key=form.cleaned_data.get("api_key"),
            sender=form.cleaned_data["sender"],
            enabled=form.cleaned_data["enabled"],
            connection=obj,
        )

    def get_urls(self):
        extra = [
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="integrations_mosendconnection_test",
            )
        ]
        return extra + super().get_urls()

    def test_connection_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("Not found."))
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        change_url = reverse("admin:integrations_mosendconnection_change", args=[obj.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        result = whatsapp.connection_check(connection=obj)
        if result.ok:
            name = result.data.get("name") or result.data.get("organization") or ""
            who = _(" (organisation: %(name)s)") % {"name": name} if name else ""
            self.message_user(
                request,
                _("Mosend answered HTTP %(status)s: connection OK%(who)s.") % {"status": result.status, "who": who},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("Mosend test failed: %(error)s") % {"error": result.error}, messages.ERROR)
        return HttpResponseRedirect(change_url)


def parameter_labels(keys) -> str:
    """The template's parameters in the owner's words, in order: "1. Customer name, 2. Order number"."""
    labels = [
        f"{n}. {whatsapp.PARAMETERS[key][0] if key in whatsapp.PARAMETERS else key}"
        for n, key in enumerate(keys or [], start=1)
    ]
    return ", ".join(labels) or "—"


class TemplateRouteForm(forms.ModelForm):
    event_type = forms.ChoiceField(
        label=_("Event"),
        help_text=_("The event that triggers this template."),
        choices=[(e, e) for e in whatsapp.ROUTABLE_EVENT_TYPES],
    )

    class Meta:
        model = TemplateRoute
        fields = ("store", "event_type", "template_name", "language", "enabled")

    _default_store_id = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = list(self.instance.parameters or [])
        for index in range(whatsapp.MAX_PARAMETERS):
            self.fields[f"param_{index + 1}"] = forms.ChoiceField(
                label=_("Parameter {{%(n)s}}") % {"n": index + 1},
                choices=[("", "—"), *whatsapp.PARAMETER_CHOICES],
                required=False,
                initial=current[index] if index < len(current) else "",
            )

    def clean(self):
        cleaned = super().clean()
        parameters, gap = [], None
        for index in range(whatsapp.MAX_PARAMETERS):
            value = cleaned.get(f"param_{index + 1}") or ""
            if not value:
                gap = gap or index + 1
            elif gap is not None:
                self.add_error(
                    f"param_{index + 1}", _("Parameter {{%(n)s}} is empty: parameters have no gaps.") % {"n": gap}
                )
            else:
                parameters.append(value)
        self.instance.parameters = parameters
        self._validate_route(cleaned, parameters)
        store = cleaned.get("store")
        store_id = store.pk if store is not None else (self.instance.store_id or self._default_store_id)
        event_type = cleaned.get("event_type")
        if store_id and event_type:
            clash = TemplateRoute.objects.filter(store_id=store_id, event_type=event_type)
            if clash.exclude(pk=self.instance.pk).exists():
                self.add_error("event_type", _("This store already has a route for this event."))
        return cleaned

    def _validate_route(self, cleaned, parameters) -> None:
        """The route rules of integrations.whatsapp (the model itself imports no service code)."""
        try:
            whatsapp.validate_route(
                event_type=cleaned.get("event_type") or "",
                template_name=cleaned.get("template_name") or "",
                language=cleaned.get("language") or "",
                parameters=parameters,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, messages)
                elif field not in self.fields:
                    self.add_error(None, messages)


@admin.register(TemplateRoute)
class TemplateRouteAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = TemplateRouteForm
    list_display = ("event_type", "template_name", "language", "parameter_list", "enabled")
    list_filter = ("enabled", "event_type")

    def get_fields(self, request, obj=None):
        base = ["store", "event_type", "template_name", "language", "enabled"]
        params = [f"param_{i + 1}" for i in range(whatsapp.MAX_PARAMETERS)]
        return _store_fields(request, base, obj) + params

    def get_form(self, request, obj=None, **kwargs):
        kwargs["fields"] = [f for f in self.get_fields(request, obj) if not f.startswith("param_")]
        form = super().get_form(request, obj, **kwargs)
        ids = user_store_ids(request)
        form._default_store_id = ids[0] if ids else None
        return form

    @admin.display(description=_("Parameters"))
    def parameter_list(self, obj):
        return parameter_labels(obj.parameters)


@admin.register(MessageLog)
class MessageLogAdmin(ReadOnlyAdminMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "event_type", "phone", "status", "reason")
    list_filter = ("status", "event_type")
    search_fields = ("phone", "template_name", "mosend_message_id")
    list_select_related = ()
    fields = (
        "event_type",
        "event_id",
        "customer",
        "template_name",
        "language",
        "parameter_list",
        "simulated_values",
        "phone",
        "status",
        "reason",
        "response_status",
        "mosend_message_id",
        "attempts",
        "next_attempt_at",
        "created_at",
        "updated_at",
        "sent_at",
    )
    readonly_fields = fields

    @admin.display(description=_("Parameters"))
    def parameter_list(self, obj):
        return parameter_labels(obj.parameter_keys)

    @admin.display(description=_("Values that would have been sent"))
    def simulated_values(self, obj):
        """Test data only (SIMULATED): the parameters in order, as Mosend would have received them."""
        values = whatsapp.simulated_parameters(obj) if obj is not None else []
        if not values:
            return "—"
        return format_html_join(mark_safe("<br>"), "{{{{{}}}}}: {}", ((i, v) for i, v in enumerate(values, 1)))


__all__ = ["ApiTokenAdmin", "MessageLogAdmin", "MosendConnectionAdmin", "TemplateRouteAdmin", "TokenError"]
