"""The ONE admin mixin that scopes every owner page to the owner's store(s).

Superusers see everything. An owner/staff member sees only rows of their stores, gets
foreign-key and many-to-many choices limited to those stores, and new rows are assigned
to their store automatically.
"""

from django.contrib import admin
from django.template.response import TemplateResponse

from .fields import is_money_field
from .forms import LocalMoneyField
from .l10n import request_store
from .models import Store, StoreMember


def user_store_ids(request) -> list:
    cached = getattr(request, "_nvl_store_ids", None)
    if cached is None:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            cached = []
        else:
            cached = list(StoreMember.objects.filter(user=user).values_list("store_id", flat=True))
        request._nvl_store_ids = cached
    return cached


def is_store_member(request) -> bool:
    return bool(request.user.is_active and request.user.is_staff and user_store_ids(request))


def _has_store_field(model) -> bool:
    return any(f.name == "store" for f in model._meta.get_fields())


class StoreScopedAdminMixin:
    """Use on every ModelAdmin of store-owned data. `store_field` names the path to the store."""

    store_field = "store"

    # --- what the owner may see ---------------------------------------------------------
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.store_field}__in": user_store_ids(request)})

    def has_module_permission(self, request):
        return request.user.is_superuser or is_store_member(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or is_store_member(request)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser or is_store_member(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or is_store_member(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser or is_store_member(request)

    # --- choices limited to the owner's store ------------------------------------------
    def _limit(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        model = queryset.model
        if model is Store:
            return queryset.filter(pk__in=user_store_ids(request))
        if _has_store_field(model):
            return queryset.filter(store_id__in=user_store_ids(request))
        return queryset

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """Money columns (money_field) are typed in the store's format: "50.000", "50.000,00"."""
        if is_money_field(db_field):
            kwargs.update(form_class=LocalMoneyField, store=request_store(request))
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = self._limit(request, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = self._limit(request, field.queryset)
        return field

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and len(user_store_ids(request)) == 1 and _has_store_field(self.model):
            exclude.append("store")
        return exclude

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and _has_store_field(self.model) and "store" not in filters:
            filters.insert(0, "store")
        return filters

    def save_model(self, request, obj, form, change):
        if not change and _has_store_field(self.model) and not getattr(obj, "store_id", None):
            ids = user_store_ids(request)
            if ids:
                obj.store_id = ids[0]
        super().save_model(request, obj, form, change)

    def owner_store(self, request):
        """The store new objects go to (the owner's only store), or None for superusers."""
        ids = user_store_ids(request)
        if ids:
            return Store.objects.get(pk=ids[0])
        return None


class StoreScopedInlineMixin(StoreScopedAdminMixin):
    """Inlines: same choice limiting; rows come through the scoped parent."""

    def get_queryset(self, request):
        return super(StoreScopedAdminMixin, self).get_queryset(request)

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser or is_store_member(request)


class ReadOnlyAdminMixin:
    """Logs and ledgers: viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SecretShownOnceMixin:
    """After "add", show a generated secret exactly once on the next page (no redirect, no session:
    the plaintext lives only in this response). Call `show_secret_once(request, secret)` in save_model."""

    secret_once_template: str = ""
    secret_once_title: str = "Created"

    def show_secret_once(self, request, secret: str) -> None:
        request._nvl_secret_once = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_nvl_secret_once", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": self.secret_once_title,
            "object": self.model.objects.get(pk=obj.pk),
            "secret": secret,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, self.secret_once_template, context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "currency", "country", "timezone", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=user_store_ids(request))

    def has_module_permission(self, request):
        return request.user.is_superuser or is_store_member(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or is_store_member(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or is_store_member(request)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(StoreMember)
class StoreMemberAdmin(admin.ModelAdmin):
    list_display = ("user", "store", "role", "created_at")
    list_filter = ("role",)

    def has_module_permission(self, request):
        return request.user.is_superuser


__all__ = ["ReadOnlyAdminMixin", "SecretShownOnceMixin", "StoreScopedAdminMixin", "StoreScopedInlineMixin"]
