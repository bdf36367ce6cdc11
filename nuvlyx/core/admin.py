"""The ONE admin mixin that scopes every owner page to the owner's store(s), plus the two owner
patterns every app uses: secrets revealed once after a redirect, and deliberate object actions.

Superusers see everything. An owner/staff member sees only rows of their stores:
- changelists, change/history/delete pages (another store's object is a 404, never a redirect
  that repeats its id), actions (they receive the scoped queryset);
- foreign-key and many-to-many choices, inlines, raw-id labels, list filters on relations
  (ScopedRelatedFieldListFilter replaces Django's, which lists every row of the related table);
- autocomplete: Django's view asks the *related* model's admin for its queryset, so it is scoped
  as long as that admin uses this mixin (the tenancy walk test checks every registered pair);
- new rows are assigned to their store automatically.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.filters import RelatedFieldListFilter, RelatedOnlyFieldListFilter
from django.contrib.admin.utils import NotRelationField, get_fields_from_path, unquote
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MinValueValidator
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .crypto import DecryptionError, decrypt, encrypt
from .fields import is_money_field
from .forms import LocalMoneyField
from .l10n import request_store, world_store_ids
from .models import Event, Store, StoreMember


def user_store_ids(request) -> list:
    cached = getattr(request, "_nvl_store_ids", None)
    if cached is None:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            cached = []
        else:
            member_ids = list(StoreMember.objects.filter(user=user).values_list("store_id", flat=True))
            cached = world_store_ids(request, member_ids)  # their sandboxes while "Test data" is on
        request._nvl_store_ids = cached
    return cached


def is_store_member(request) -> bool:
    return bool(request.user.is_active and request.user.is_staff and user_store_ids(request))


def _has_store_field(model) -> bool:
    return any(f.name == "store" for f in model._meta.get_fields())


def scope_queryset(request, queryset):
    """Limit any queryset to the user's stores: Store by pk, store-owned models by store_id."""
    if request.user.is_superuser:
        return queryset
    model = queryset.model
    if model is Store:
        return queryset.filter(pk__in=user_store_ids(request))
    if _has_store_field(model):
        return queryset.filter(store_id__in=user_store_ids(request))
    return queryset


class ScopedRelatedFieldListFilter(RelatedFieldListFilter):
    """A list filter on a relation whose choices are the owner's rows only (Django's lists them all)."""

    def field_choices(self, field, request, model_admin):
        related = field.remote_field.model
        ordering = self.field_admin_ordering(field, request, model_admin) or related._meta.ordering or ()
        queryset = scope_queryset(request, related._default_manager.all())
        limit = field.get_limit_choices_to() if hasattr(field, "get_limit_choices_to") else None
        if limit:
            queryset = queryset.complex_filter(limit)
        to_field = getattr(field.remote_field, "field_name", None) or "pk"
        return [(getattr(obj, to_field), str(obj)) for obj in queryset.order_by(*ordering)]


class _ScopedRawIdLabel:
    """Raw-id widgets look their value up with the default manager: look it up in the owner's stores."""

    request = None

    def label_and_url_for_value(self, value):
        model = self.rel.model
        key = self.rel.get_related_field().name
        if value and not scope_queryset(self.request, model._default_manager.filter(**{key: value})).exists():
            return "", ""
        return super().label_and_url_for_value(value)


class ScopedForeignKeyRawIdWidget(_ScopedRawIdLabel, ForeignKeyRawIdWidget):
    pass


def _scope_field(request, field):
    if field is None:
        return field
    if hasattr(field, "queryset"):
        field.queryset = scope_queryset(request, field.queryset)
    widget = getattr(field.widget, "widget", field.widget)  # unwrap RelatedFieldWidgetWrapper
    if type(widget) is ForeignKeyRawIdWidget:  # the many-to-many one never prints labels
        widget.__class__ = ScopedForeignKeyRawIdWidget
        widget.request = request
    return field


class NotFoundMixin:
    """Another store's object (or a missing one) is a plain 404 on change, history and delete pages,
    instead of Django's redirect with a message repeating the id (or a 403 that confirms it exists)."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(gettext("Not found."))

    def delete_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(gettext("Not found."))
        return super().delete_view(request, object_id, extra_context)


def constraint_minimum(db_field):
    """The N of a model CheckConstraint `Q(<field>__gte=N)` on this field, so the form refuses the value
    on the field, in words, instead of a non-field error naming the database constraint."""
    model = getattr(db_field, "model", None)
    if model is None:
        return None
    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if condition is None or condition.negated or condition.connector != "AND":
            continue
        for child in condition.children:
            if isinstance(child, tuple) and child[0] == f"{db_field.name}__gte":
                return child[1]
    return None


class StoreScopedAdminMixin(NotFoundMixin):
    """Use on every ModelAdmin of store-owned data. `store_field` names the path to the store."""

    store_field = "store"
    change_form_template = "admin/nuvlyx/change_form.html"

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

    def get_deleted_objects(self, objs, request):
        """Django lists many-to-many link rows as "Product_categories object (43)": leave them out
        (they go with the object; the count per model still says how many)."""
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        from django.apps import apps

        prefixes = tuple(
            f"{capfirst(m._meta.verbose_name)}: "
            for m in apps.get_models(include_auto_created=True)
            if m._meta.auto_created
        )

        def keep(items):
            result = []
            for item in items:
                if isinstance(item, list):
                    result.append(keep(item))
                elif not str(item).startswith(prefixes):
                    result.append(item)
            return [r for r in result if r != []]

        return keep(to_delete), model_count, perms_needed, protected

    # --- choices limited to the owner's store ------------------------------------------
    def _limit(self, request, queryset):
        return scope_queryset(request, queryset)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if is_money_field(db_field):  # typed in the store's format: "50.000", "50.000,00"
            kwargs.update(form_class=LocalMoneyField, store=request_store(request))
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        minimum = constraint_minimum(db_field)
        if field is not None and minimum is not None:
            field.validators.append(
                MinValueValidator(minimum, message=_("Must be %(limit_value)s or more.") % {"limit_value": minimum})
            )
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return _scope_field(request, super().formfield_for_foreignkey(db_field, request, **kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return _scope_field(request, super().formfield_for_manytomany(db_field, request, **kwargs))

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and len(user_store_ids(request)) == 1 and _has_store_field(self.model):
            exclude.append("store")
        return exclude

    def get_list_filter(self, request):
        filters = []
        for spec in super().get_list_filter(request):
            filters.append(self._scoped_filter(spec))
        if request.user.is_superuser and _has_store_field(self.model) and "store" not in filters:
            filters.insert(0, "store")
        return filters

    def _scoped_filter(self, spec):
        """Relation filters get ScopedRelatedFieldListFilter; others (SimpleListFilter, plain fields) stay."""
        name, klass = spec if isinstance(spec, (tuple, list)) else (spec, None)
        if not isinstance(name, str):
            return spec
        if klass is not None and (
            not issubclass(klass, RelatedFieldListFilter)
            or issubclass(klass, (ScopedRelatedFieldListFilter, RelatedOnlyFieldListFilter))
        ):
            return spec
        try:
            field = get_fields_from_path(self.model, name)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return spec
        if getattr(field, "remote_field", None) is not None and field.is_relation:
            return (name, ScopedRelatedFieldListFilter)
        return spec

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

    # --- deliberate object actions (buttons on the change page → confirmation page) ----------
    object_actions: tuple[str, ...] = ()

    def get_object_actions(self, request, obj) -> list["ObjectAction"]:
        found = []
        for name in self.object_actions:
            spec: ObjectAction = getattr(self, name).object_action
            if obj is not None and spec.is_available(obj):
                found.append(spec)
        return found

    def get_urls(self):
        urls = super().get_urls()
        if not self.object_actions:
            return urls
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.object_action_view)
        return [
            path("<path:object_id>/do/<slug:action>/", view, name="{}_{}_object_action".format(*info)),
            *urls,
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        info = self.opts.app_label, self.opts.model_name
        context["object_action_buttons"] = [
            (spec, reverse("admin:{}_{}_object_action".format(*info), args=[obj.pk, spec.name]))
            for spec in self.get_object_actions(request, obj)
        ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def object_action_view(self, request, object_id, action):
        if action not in self.object_actions:
            raise Http404(gettext("Not found."))
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404(gettext("Not found."))
        method = getattr(self, action)
        spec: ObjectAction = method.object_action
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        if not spec.is_available(obj):
            self.message_user(request, spec.unavailable_message(obj), messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        form = spec.form(request.POST or None) if spec.form else None
        if request.method == "POST" and (form is None or form.is_valid()):
            data = form.cleaned_data if form is not None else {}
            try:
                result = method(request, obj, data)
            except ObjectActionRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, result, messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": spec.label,
            "subtitle": str(obj),
            "opts": self.opts,
            "original": obj,
            "form": form,
            "action": spec,
            "consequence": spec.describe(obj),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/nuvlyx/confirm_action.html", context)


class ObjectActionRefused(Exception):
    """Raised by an object action with a message for the owner (e.g. the service refused)."""


@dataclass
class ObjectAction:
    name: str
    label: str
    describe: Callable[[Any], str]  # what will happen, shown on the confirmation page
    form: type | None = None
    available: Callable[[Any], bool] | None = None
    danger: bool = False

    def is_available(self, obj) -> bool:
        return self.available is None or bool(self.available(obj))

    def unavailable_message(self, obj) -> str:
        return gettext("“%(action)s” is not possible for %(object)s any more.") % {"action": self.label, "object": obj}


def object_action(*, label, describe, form=None, available=None, danger=False):
    """Declare a ModelAdmin method `(self, request, obj, data) -> success message` as a button on the
    object's change page; list its name in `object_actions`. GET shows `describe(obj)` (and `form`),
    POST (with CSRF) runs it and redirects back to the change page with a message."""

    def decorate(func):
        func.object_action = ObjectAction(
            name=func.__name__, label=label, describe=describe, form=form, available=available, danger=danger
        )
        return func

    return decorate


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded on the wallet's ledger entry."),
    )


class OptionalReasonForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False


class StoreScopedInlineMixin(StoreScopedAdminMixin):
    """Inlines: same choice limiting; rows come through the scoped parent and are scoped again."""

    def get_queryset(self, request):
        qs = super(StoreScopedAdminMixin, self).get_queryset(request)
        return scope_queryset(request, qs)

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
    """After "add", reveal a generated secret exactly once: POST → redirect → GET of a reveal page.

    `show_secret_once(request, obj, secret)` (in save_model) puts the secret in the session, encrypted
    (sessions are rows at rest); the reveal page pops it, so a reload or the back button shows a
    "shown once" notice instead, and nothing is ever created by a GET. Pages carry no-store."""

    secret_once_template: str = ""
    opts: Any  # the ModelAdmin's

    def reveal_context(self, obj) -> dict:
        return {}

    def _secret_session_key(self, pk) -> str:
        return f"nvl_secret_once:{self.opts.label_lower}:{pk}"

    def show_secret_once(self, request, obj, secret: str) -> None:
        request.session[self._secret_session_key(obj.pk)] = encrypt(secret)
        request._nvl_secret_once_pk = obj.pk

    def response_add(self, request, obj, post_url_continue=None):
        pk = getattr(request, "_nvl_secret_once_pk", None)
        if pk is None:
            return super().response_add(request, obj, post_url_continue)
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_reveal", args=[pk])
        return HttpResponseRedirect(url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.reveal_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_reveal"
        return [path("<path:object_id>/reveal/", view, name=name), *super().get_urls()]

    def reveal_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404(gettext("Not found."))
        stored = request.session.pop(self._secret_session_key(obj.pk), None)
        secret = None
        if stored is not None:
            try:
                secret = decrypt(stored)
            except DecryptionError:
                secret = None
        context = {
            **self.admin_site.each_context(request),
            "title": str(obj),
            "object": obj,
            "original": obj,
            "secret": secret,
            "opts": self.opts,
            "changelist_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            **self.reveal_context(obj),
        }
        response = TemplateResponse(request, self.secret_once_template, context)
        response["Cache-Control"] = "no-store"
        return response


class StoreAdminForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = "__all__"  # noqa: DJ007 - ModelAdmin.get_form passes the page's fields
        labels = {"name": _("Name"), "slug": _("Slug"), "currency": _("Currency")}
        help_texts = {"currency": _("Base currency (ISO 4217) in which every amount of this store is expressed.")}

    def clean_currency(self):
        currency = self.cleaned_data["currency"]
        if self.instance.pk and currency != self.instance.currency and store_holds_money(self.instance):
            raise forms.ValidationError(
                _("The currency cannot change: this store already has money in its wallets or ledger.")
            )
        return currency


def store_holds_money(store) -> bool:
    """Any ledger entry (every wallet movement writes one) or a non-zero wallet means money exists.
    Looked up by name: core sits below wallets and must not import it."""
    from django.apps import apps

    ledger = apps.get_model("wallets", "LedgerEntry")
    wallet = apps.get_model("wallets", "Wallet")
    return (
        ledger.objects.filter(store_id=store.pk).exists()
        or wallet.objects.filter(store_id=store.pk).exclude(balance=0).exists()
    )


@admin.register(Store)
class StoreAdmin(NotFoundMixin, admin.ModelAdmin):
    form = StoreAdminForm
    list_display = ("name", "slug", "currency", "country", "timezone", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        return scope_queryset(request, super().get_queryset(request))

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


class EventDispatchFilter(admin.SimpleListFilter):
    title = _("dispatch")
    parameter_name = "dispatch"

    def lookups(self, request, model_admin):
        return (("pending", _("Pending")), ("dispatched", _("Dispatched")), ("dead", _("Dead")))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(dispatched_at__isnull=True, dead_at__isnull=True)
        if self.value() == "dispatched":
            return queryset.filter(dispatched_at__isnull=False)
        if self.value() == "dead":
            return queryset.filter(dead_at__isnull=False)
        return queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, StoreScopedAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    """The outbox, read-only: what happened and whether webhooks/WhatsApp picked it up.

    Payloads are never shown here (order events carry credentials). A dead event (its consumers
    failed EVENT_DISPATCH_MAX_ATTEMPTS times) can be dispatched again once the cause is fixed.
    """

    list_display = ("created_at", "type", "dispatch_state", "dispatch_attempts", "dispatch_error")
    list_filter = (EventDispatchFilter, "type")
    fields = ("id", "type", "created_at", "dispatched_at", "dispatch_attempts", "dispatch_error", "dead_at")
    readonly_fields = fields
    actions = ["dispatch_again"]

    @admin.display(description=_("dispatch"))
    def dispatch_state(self, obj) -> str:
        if obj.dead_at is not None:
            return gettext("Dead")
        return gettext("Dispatched") if obj.dispatched_at is not None else gettext("Pending")

    @admin.action(description=_("Dispatch the selected dead events again"))
    def dispatch_again(self, request, queryset):
        from .events import enqueue_dispatch

        ids = list(queryset.filter(dead_at__isnull=False).values_list("pk", flat=True))
        Event.objects.filter(pk__in=ids).update(dead_at=None, dispatch_attempts=0, dispatch_error="")
        if ids:
            enqueue_dispatch(ids)
        self.message_user(request, gettext("%(count)d event(s) queued for dispatch.") % {"count": len(ids)})


@admin.register(StoreMember)
class StoreMemberAdmin(admin.ModelAdmin):
    list_display = ("user", "store", "role", "created_at")
    list_filter = ("role",)

    def has_module_permission(self, request):
        return request.user.is_superuser


__all__ = [
    "ObjectActionRefused",
    "OptionalReasonForm",
    "ReadOnlyAdminMixin",
    "ReasonForm",
    "SecretShownOnceMixin",
    "StoreScopedAdminMixin",
    "StoreScopedInlineMixin",
    "object_action",
    "scope_queryset",
]
