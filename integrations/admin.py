"""Settings → API Tokens: create (shown once), list, revoke. Scoped to the owner's store."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from nuvlyx.api.permissions import SCOPES
from nuvlyx.core.admin import StoreScopedAdminMixin, user_store_ids
from nuvlyx.core.models import Store

from .models import ApiToken
from .services import TokenError, api_token_create, api_token_revoke


class ApiTokenCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in SCOPES], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ("store", "name", "scopes", "expires_at", "rate_limit_per_minute")


@admin.register(ApiToken)
class ApiTokenAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "prefix", "scope_list", "created_at", "last_used_at", "expires_at", "status")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = ["revoke_selected"]
    readonly_fields = ("prefix", "scope_list", "created_by", "created_at", "last_used_at", "revoked_at", "status")
    fields = ("name", "prefix", "scope_list", "rate_limit_per_minute", "expires_at", "created_by", "created_at",
              "last_used_at", "revoked_at", "status")

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

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

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
            store=store,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            rate_limit_per_minute=form.cleaned_data.get("rate_limit_per_minute"),
            created_by=request.user,
        )
        obj.pk = token.pk
        request._nvl_new_token = plaintext  # lives only for this response

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "_nvl_new_token", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "Token created",
            "token": ApiToken.objects.get(pk=obj.pk),
            "plaintext": plaintext,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/integrations/token_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


__all__ = ["ApiTokenAdmin", "TokenError"]
