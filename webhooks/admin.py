"""Settings → Webhooks: endpoints (secret shown once), the delivery log with its attempts.

Actions: "Send test event" and "Re-enable endpoint" on endpoints, "Redeliver" on deliveries.
Every page is scoped to the owner's store (StoreScopedAdminMixin); writes go through services.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from nuvlyx.core.admin import ReadOnlyAdminMixin, SecretShownOnceMixin, StoreScopedAdminMixin, StoreScopedInlineMixin
from nuvlyx.core.events import EVENT_TYPES

from . import services, ssrf
from .models import Attempt, Delivery, WebhookEndpoint
from .selectors import DELIVERY_LIST_FIELDS

EVENT_CHOICES = [(services.WILDCARD, "* (every event)")] + [(t, t) for t in EVENT_TYPES]


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)

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
            raise forms.ValidationError(str(exc)) from None

    def clean_events(self):
        try:
            return services.normalize_events(self.cleaned_data["events"])
        except services.WebhookError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SecretShownOnceMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    secret_once_template = "admin/webhooks/secret_created.html"
    secret_once_title = "Webhook endpoint created"
    form = WebhookEndpointForm
    list_display = ("url", "event_list", "active", "state", "failing_since", "created_at", "delivery_log")
    list_filter = ("active",)
    search_fields = ("url", "description")
    actions = ["send_test_event", "reenable"]
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

    @admin.display(description="Events")
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description="State")
    def state(self, obj):
        if obj.active:
            return "Active (failing)" if obj.failing_since else "Active"
        return obj.disabled_reason or "Inactive"

    @admin.display(description="Deliveries")
    def delivery_log(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">Delivery log</a>', url)

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
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = endpoint.pk
        self.show_secret_once(request, secret)

    @admin.action(description="Send test event")
    def send_test_event(self, request, queryset):
        sent = 0
        for endpoint in queryset:
            try:
                services.endpoint_send_test(endpoint=endpoint)
                sent += 1
            except services.WebhookError as exc:
                self.message_user(request, f"{endpoint.url}: {exc.message}", messages.WARNING)
        if sent:
            self.message_user(request, f"Queued a webhook.test event for {sent} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Re-enable endpoint")
    def reenable(self, request, queryset):
        count = 0
        for endpoint in queryset.filter(active=False):
            services.endpoint_reenable(endpoint=endpoint)
            count += 1
        self.message_user(request, f"Re-enabled {count} endpoint(s).", messages.SUCCESS)


class AttemptInline(ReadOnlyAdminMixin, StoreScopedInlineMixin, admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "response_status", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("event__id", "endpoint__url")
    inlines = [AttemptInline]
    actions = ["redeliver"]
    # The delivery view of API.md (without its own id), plus where it goes and what it redelivers.
    fields = ("endpoint", *(f for f in DELIVERY_LIST_FIELDS if f != "id"), "redelivery_of")
    readonly_fields = fields

    @admin.action(description="Redeliver")
    def redeliver(self, request, queryset):
        done = 0
        for delivery in queryset.select_related("endpoint", "event"):
            try:
                services.delivery_redeliver(delivery=delivery)
                done += 1
            except services.WebhookError as exc:
                self.message_user(request, f"{delivery.pk}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, f"Queued {done} redelivery(ies).", messages.SUCCESS)
