"""Settings → Webhooks: endpoints (secret shown once), the delivery log with its attempts.

Actions: "Send test event" and "Re-enable endpoint" on endpoints, "Redeliver" on deliveries.
Every page is scoped to the owner's store (StoreScopedAdminMixin); writes go through services.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.admin import (
    ObjectActionRefused,
    ReadOnlyAdminMixin,
    SecretShownOnceMixin,
    StoreScopedAdminMixin,
    StoreScopedInlineMixin,
    object_action,
)
from nuvlyx.core.errors import owner_text
from nuvlyx.core.events import EVENT_TYPES

from . import services, ssrf
from .models import Attempt, Delivery, WebhookEndpoint
from .selectors import DELIVERY_LIST_FIELDS

EVENT_CHOICES = [(services.WILDCARD, _("Every event"))] + [(t, t) for t in EVENT_TYPES]


def event_labels(events) -> list[str]:
    return [str(_("Every event")) if e == services.WILDCARD else e for e in events]


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(label=_("Events"), choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ("store", "url", "events", "description", "active")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if self.instance.pk and url == self.instance.url:
            return url
        try:
            return ssrf.validate_url(url)
        except ssrf.UnsafeUrl as exc:
            raise forms.ValidationError(owner_text(exc)) from None

    def clean_events(self):
        try:
            return services.normalize_events(self.cleaned_data["events"])
        except services.WebhookError as exc:
            raise forms.ValidationError(owner_text(exc)) from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SecretShownOnceMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    secret_once_template = "admin/webhooks/secret_reveal.html"
    form = WebhookEndpointForm
    list_display = ("url", "event_list", "state", "created_at", "delivery_log")
    list_filter = ("active",)
    search_fields = ("url", "description")
    actions = None  # test / re-enable are buttons on the endpoint's page, with a confirmation
    object_actions = ("send_test_event", "reenable")
    readonly_fields = (
        "state",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
        "delivery_log",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            excluded = self.get_exclude(request)
            return [f for f in ("store", "url", "events", "description", "active") if f not in excluded]
        return ["url", "events", "description", "active", *self.readonly_fields]  # the store never changes

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    @admin.display(description=_("Events"))
    def event_list(self, obj):
        return ", ".join(event_labels(obj.events))

    @admin.display(description=_("State"))
    def state(self, obj):
        if obj.active:
            return _("Active (failing)") if obj.failing_since else _("Active")
        return obj.disabled_reason or _("Inactive")

    @admin.display(description=_("Deliveries"))
    def delivery_log(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Delivery log"))

    def reveal_context(self, obj) -> dict:
        return {"event_labels": event_labels(obj.events)}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            endpoint = WebhookEndpoint.objects.get(pk=obj.pk)
            services.endpoint_update(
                endpoint=endpoint,
                url=data["url"],
                events=data["events"],
                description=data.get("description", ""),
                active=data.get("active", False),
            )
            return
        store = data.get("store") or self.owner_store(request)
        try:
            endpoint, secret = services.endpoint_create(
                store=store,
                url=data["url"],
                events=data["events"],
                description=data.get("description", ""),
                active=data.get("active", True),
            )
        except services.WebhookError as exc:  # the form already validated; a race is the only way here
            self.message_user(request, owner_text(exc), messages.ERROR)
            return
        obj.pk = endpoint.pk
        self.show_secret_once(request, endpoint, secret)

    @object_action(
        label=_("Send test event"),
        describe=lambda endpoint: (
            _(
                "A webhook.test event is sent to %(url)s, signed like every other event. "
                "It shows up in the delivery log."
            )
            % {"url": endpoint.url}
        ),
    )
    def send_test_event(self, request, endpoint, data):
        try:
            services.endpoint_send_test(endpoint=endpoint)
        except services.WebhookError as exc:
            raise ObjectActionRefused(owner_text(exc)) from None
        return _("A webhook.test event is on its way to %(url)s.") % {"url": endpoint.url}

    @object_action(
        label=_("Re-enable endpoint"),
        describe=lambda endpoint: (
            _("%(url)s receives events again from now on. It was turned off: %(reason)s")
            % {"url": endpoint.url, "reason": endpoint.disabled_reason or _("by hand")}
        ),
        available=lambda endpoint: not endpoint.active,
    )
    def reenable(self, request, endpoint, data):
        services.endpoint_reenable(endpoint=endpoint)
        return _("%(url)s re-enabled.") % {"url": endpoint.url}


class AttemptInline(ReadOnlyAdminMixin, StoreScopedInlineMixin, admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "response_status", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "status", "attempts", "created_at")
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("event__id", "endpoint__url")
    inlines = [AttemptInline]
    actions = None  # redelivering is a button on the delivery's page, with a confirmation
    object_actions = ("redeliver",)
    # The delivery view of API.md (without its own id), plus where it goes and what it redelivers.
    # event_id is shown through event_ref: Django labels a foreign key's column name untranslated ("Event id").
    fields = (
        "endpoint",
        *("event_ref" if f == "event_id" else f for f in DELIVERY_LIST_FIELDS if f != "id"),
        "redelivery_of",
    )
    readonly_fields = fields

    @admin.display(description=_("Event ID"))
    def event_ref(self, obj):
        return obj.event_id

    @object_action(
        label=_("Redeliver"),
        describe=lambda delivery: (
            _(
                "The %(event)s event is sent again to %(url)s as a new delivery, with the same webhook-id "
                "so the receiver can recognise it."
            )
            % {"event": delivery.event_type, "url": delivery.endpoint.url}
        ),
    )
    def redeliver(self, request, delivery, data):
        try:
            services.delivery_redeliver(delivery=delivery)
        except services.WebhookError as exc:
            raise ObjectActionRefused(owner_text(exc)) from None
        return _("Redelivery of %(event)s queued.") % {"event": delivery.event_type}
