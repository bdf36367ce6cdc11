"""The owner's catalog pages: products (inline variations), variations (inline tier prices and a price
preview per tier computed by catalog.pricing), categories, price tiers, and license stock (a License
list that never shows credentials, and a paste-or-upload bulk import calling catalog.stock.license_upload,
the API's service).

Every page is scoped to the owner's store (StoreScopedAdminMixin / StoreScopedInlineMixin) and
checks the per-store unique rules (slug, SKU, tier name/level) in the form, since the store itself
is not a form field for an owner. Product saves and deletes go through catalog.services so the
product.* events are emitted exactly as the API's.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.admin import StoreScopedAdminMixin, StoreScopedInlineMixin, user_store_ids
from nuvlyx.core.money import money_display

from . import services
from .models import Category, License, PriceTier, Product, TierPrice, Variation
from .pricing import quote_variation
from .stock import MAX_CREDENTIALS_LENGTH, UPLOAD_BATCH_SIZE, license_upload


def _store_id_for(request, obj=None):
    """The store a form's rows belong to: the object's, else the owner's, else the superuser's choice."""
    if obj is not None and getattr(obj, "store_id", None):
        return obj.store_id
    ids = user_store_ids(request)
    if ids:
        return ids[0]
    return request.POST.get("store") or None


class StoreBoundForm(forms.ModelForm):
    """A ModelForm that knows its store (set by the admin) for the per-store unique checks."""

    store_id = None

    def current_store_id(self):
        store = self.cleaned_data.get("store") if hasattr(self, "cleaned_data") else None
        return getattr(store, "pk", None) or self.store_id

    def check_unique(self, model, field: str, value, message: str, *, iexact: bool = False) -> None:
        store_id = self.current_store_id()
        if store_id is None or value in (None, ""):
            return
        lookup = f"{field}__iexact" if iexact else field
        qs = model.objects.filter(store_id=store_id, **{lookup: value})
        if self.instance.pk:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            self.add_error(field, message)


class OptionalSlugForm(StoreBoundForm):
    """Products and categories: the slug may be left empty (the service derives it from the name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _("Leave empty to derive it from the name.")


class StoreBoundAdminMixin(StoreScopedAdminMixin):
    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"store_id": _store_id_for(request, obj)})


# --- variations inline on the product ------------------------------------------------------------
class VariationFormSet(forms.BaseInlineFormSet):
    store_id = None

    def clean(self):
        super().clean()
        seen: set[str] = set()
        keep = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        for form in keep:
            sku = form.cleaned_data.get("sku")
            if sku in seen:
                form.add_error("sku", _("Duplicate SKU in this product."))
            seen.add(sku)
        store_id = self.store_id or getattr(self.instance, "store_id", None)
        if store_id and seen:
            own = [f.instance.pk for f in self.forms if f.instance.pk]
            clashing = Variation.objects.filter(store_id=store_id, sku__in=seen).exclude(pk__in=own)
            taken = set(clashing.values_list("sku", flat=True))
            for form in keep:
                if form.cleaned_data.get("sku") in taken:
                    form.add_error("sku", _("A variation with this SKU already exists in this store."))


class VariationInline(StoreScopedInlineMixin, admin.TabularInline):
    model = Variation
    formset = VariationFormSet
    extra = 1
    show_change_link = True  # the variation page has the tier prices and the price preview
    fields = (
        "sku",
        "name",
        "price",
        "duration_days",
        "depends_on_stock",
        "low_stock_threshold",
        "position",
        "stock_available",
    )
    readonly_fields = ("stock_available",)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"store_id": _store_id_for(request, obj)})


class ProductForm(OptionalSlugForm):
    class Meta:
        model = Product
        fields = ("store", "name", "slug", "kind", "status", "description", "post_sale_instructions", "categories")

    def clean(self):
        cleaned = super().clean()
        self.check_unique(Product, "slug", cleaned.get("slug"), "A product with this slug already exists.")
        store_id = self.current_store_id()
        categories = cleaned.get("categories")
        if store_id and categories is not None and any(str(c.store_id) != str(store_id) for c in categories):
            self.add_error("categories", _("Categories must belong to the product's store."))
        return cleaned


@admin.register(Product)
class ProductAdmin(StoreBoundAdminMixin, admin.ModelAdmin):
    form = ProductForm
    inlines = [VariationInline]
    list_display = ("name", "kind", "status", "variation_count")
    ordering = ("-created_at", "id")  # explicit: the Count annotation drops Meta.ordering (autocomplete pages)
    list_filter = ("status", "kind")
    search_fields = ("name", "slug", "variations__sku")
    filter_horizontal = ("categories",)
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_variations=Count("variations"))

    @admin.display(description=_("Variations"), ordering="n_variations")
    def variation_count(self, obj):
        return obj.n_variations

    def save_model(self, request, obj, form, change):
        if not obj.store_id:
            obj.store_id = _store_id_for(request)
        if not obj.slug:
            obj.slug = services.unique_slug(
                model=Product, store=obj.store, source=obj.name, max_length=220, fallback="product", exclude_pk=obj.pk
            )
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        product = form.instance
        for obj in formset.deleted_objects:
            obj.delete()
        position = product.variations.count()
        for instance in instances:
            instance.store_id = product.store_id
            if instance._state.adding and instance.depends_on_stock and product.kind == Product.Kind.SERVICE:
                instance.depends_on_stock = False  # the API's default for SERVICE products
            if instance._state.adding and not instance.position:
                instance.position = position
                position += 1
            instance.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The product with its variations and categories is complete: emit as the API would.
        services.product_changed(product=form.instance, created=not change)

    def delete_model(self, request, obj):
        services.product_delete(product=obj)  # archives instead when orders reference it

    def delete_queryset(self, request, queryset):
        for product in queryset:
            services.product_delete(product=product)


# --- variation page: tier prices and the price preview -----------------------------------------
class TierPriceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            tier = form.cleaned_data.get("tier")
            if tier is None:
                continue
            if tier.pk in seen:
                form.add_error("tier", _("This tier already has a price for this variation."))
            seen.add(tier.pk)
            if self.instance.store_id and tier.store_id != self.instance.store_id:
                form.add_error("tier", _("The tier must belong to the variation's store."))


class TierPriceInline(StoreScopedInlineMixin, admin.TabularInline):
    model = TierPrice
    formset = TierPriceFormSet
    extra = 1
    fields = ("tier", "price")


class VariationForm(StoreBoundForm):
    class Meta:
        model = Variation
        fields = (
            "product",
            "sku",
            "name",
            "price",
            "duration_days",
            "depends_on_stock",
            "low_stock_threshold",
            "position",
        )

    def clean(self):
        cleaned = super().clean()
        self.check_unique(Variation, "sku", cleaned.get("sku"), "A variation with this SKU already exists.")
        product = cleaned.get("product")
        if product is not None and self.store_id and str(product.store_id) != str(self.store_id):
            self.add_error("product", _("The product must belong to your store."))
        return cleaned


@admin.register(Variation)
class VariationAdmin(StoreBoundAdminMixin, admin.ModelAdmin):
    form = VariationForm
    inlines = [TierPriceInline]
    list_display = ("sku", "name", "product", "price_shown", "stock_available")
    list_select_related = ("product", "store")
    search_fields = ("sku", "name", "product__name")
    readonly_fields = ("stock_available", "stock_delivered", "price_preview")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("product")  # a variation does not move between products
        return fields

    @admin.display(description=_("Price"), ordering="price")
    def price_shown(self, obj):
        return money_display(obj.price, obj.store)

    @admin.display(description=_("Price per tier (what each customer pays)"))
    def price_preview(self, obj):
        if obj is None or obj.pk is None:
            return _("Save the variation to see its price per tier.")
        tiers = list(PriceTier.objects.filter(store_id=obj.store_id).order_by("level", "name"))
        explicit = dict(TierPrice.objects.filter(variation=obj).values_list("tier_id", "price"))
        rows = [(_("No tier (retail)"), "—", money_display(obj.price, obj.store), _("base price"))]
        for tier in tiers:
            prices = {obj.pk: explicit[tier.pk]} if tier.pk in explicit else {}
            quote = quote_variation(variation=obj, tier=tier, tier_prices=prices)  # THE rule
            applied = _("tier price") if quote.applied_tier is not None else _("falls back to base price")
            rows.append((tier.name, str(tier.level), money_display(quote.price, obj.store), applied))
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>{}</tbody></table>",
            _("Tier"),
            _("Level"),
            _("Price"),
            body,
        )

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for instance in instances:
            instance.store_id = form.instance.store_id
            instance.save()
        formset.save_m2m()

    def save_model(self, request, obj, form, change):
        if not obj.store_id and obj.product_id:
            obj.store_id = obj.product.store_id
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        variation = form.instance
        variation.save(update_fields=["updated_at"])  # tier prices are part of the product's ETag
        services.product_changed(product=variation.product, created=False)

    def delete_model(self, request, obj):
        product = obj.product
        super().delete_model(request, obj)
        services.product_changed(product=product, created=False)


# --- categories and tiers ---------------------------------------------------------------------------
class CategoryForm(OptionalSlugForm):
    class Meta:
        model = Category
        fields = ("store", "name", "slug", "description")

    def clean(self):
        cleaned = super().clean()
        self.check_unique(Category, "slug", cleaned.get("slug"), "A category with this slug already exists.")
        return cleaned


@admin.register(Category)
class CategoryAdmin(StoreBoundAdminMixin, admin.ModelAdmin):
    form = CategoryForm
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")

    def save_model(self, request, obj, form, change):
        if not obj.store_id:
            obj.store_id = _store_id_for(request)
        if not obj.slug:
            obj.slug = services.unique_slug(
                model=Category,
                store=obj.store,
                source=obj.name or slugify(obj.name),
                max_length=140,
                fallback="category",
                exclude_pk=obj.pk,
            )
        super().save_model(request, obj, form, change)


class PriceTierForm(StoreBoundForm):
    class Meta:
        model = PriceTier
        fields = ("store", "name", "level")

    def clean(self):
        cleaned = super().clean()
        self.check_unique(PriceTier, "name", cleaned.get("name"), "A tier with this name already exists.", iexact=True)
        self.check_unique(PriceTier, "level", cleaned.get("level"), "A tier with this level already exists.")
        return cleaned


@admin.register(PriceTier)
class PriceTierAdmin(StoreBoundAdminMixin, admin.ModelAdmin):
    form = PriceTierForm
    list_display = ("name", "level", "created_at")
    ordering = ("level",)


# --- license stock ------------------------------------------------------------------------------------
class LicenseImportForm(forms.Form):
    variation = forms.ModelChoiceField(label=_("Variation"), queryset=Variation.objects.none())
    pasted = forms.CharField(
        label=_("Credentials"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80}),
        help_text=_("One credential per line."),
    )
    file = forms.FileField(label=_("File"), required=False, help_text=_("Or a text file with one credential per line."))

    def __init__(self, *args, variations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["variation"].queryset = variations

    def clean(self):
        data = super().clean()
        lines: list[str] = []
        if data.get("pasted"):
            lines.extend(data["pasted"].splitlines())
        upload = data.get("file")
        if upload is not None:
            try:
                lines.extend(upload.read().decode("utf-8-sig").splitlines())
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        values, rejected = [], []
        for number, line in enumerate(lines, start=1):
            value = line.strip()
            if not value:
                continue
            if len(value) > MAX_CREDENTIALS_LENGTH:
                rejected.append(number)
                continue
            values.append(value)
        if not values:
            raise forms.ValidationError(_("Paste or upload at least one credential."))
        data["values"], data["rejected"] = values, rejected
        return data


class VariationFilter(admin.SimpleListFilter):
    """Stock per variation, listing only the owner's variations."""

    title = _("variation")
    parameter_name = "variation"

    def lookups(self, request, model_admin):
        qs = Variation.objects.select_related("product").order_by("product__name", "sku")
        if not request.user.is_superuser:
            qs = qs.filter(store_id__in=user_store_ids(request))
        return [
            (
                str(v.pk),
                _("%(product)s / %(sku)s (%(n)s available)")
                % {"product": v.product.name, "sku": v.sku, "n": v.stock_available},
            )
            for v in qs
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(variation_id=self.value())
        return queryset


@admin.register(License)
class LicenseAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Stock per variation. Credentials are never shown here (only on the order that delivered them)."""

    list_display = ("variation_sku", "product", "status", "created_at", "delivered_at")
    list_filter = ("status", VariationFilter)
    search_fields = ("variation__sku", "variation__product__name", "id")
    list_select_related = ("variation__product",)
    fields = ("variation", "status", "created_at", "delivered_at", "expires_at", "credentials")
    readonly_fields = fields
    ordering = ("-created_at",)

    @admin.display(description=_("SKU"), ordering="variation__sku")
    def variation_sku(self, lic):
        return lic.variation.sku

    @admin.display(description=_("Product"))
    def product(self, lic):
        return lic.variation.product.name

    @admin.display(description=_("Credentials"))
    def credentials(self, lic):
        return _("•••••••• (encrypted; shown on the order that delivered it)")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # counters must keep matching the rows

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:catalog_license_import"))

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="catalog_license_import"),
            *super().get_urls(),
        ]

    def _variations(self, request):
        qs = Variation.objects.select_related("product").order_by("product__name", "sku")
        if not request.user.is_superuser:
            qs = qs.filter(store_id__in=user_store_ids(request))
        return qs

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        # Only variations sold from stock: a SERVICE or non-stock variation is delivered by hand, and
        # credentials imported for it would never reach a customer.
        variations = self._variations(request).filter(product__kind=Product.Kind.DIGITAL, depends_on_stock=True)
        form = LicenseImportForm(request.POST or None, request.FILES or None, variations=variations)
        if request.method == "POST" and form.is_valid():
            variation = form.cleaned_data["variation"]
            values = form.cleaned_data["values"]
            created = duplicates = 0
            available = variation.stock_available
            for start in range(0, len(values), UPLOAD_BATCH_SIZE):
                result = license_upload(
                    store=variation.store, variation=variation, credentials=values[start : start + UPLOAD_BATCH_SIZE]
                )
                created += result.created
                duplicates += result.duplicates_skipped
                available = result.available_stock
            rejected = form.cleaned_data["rejected"]
            text = _("%(sku)s: %(created)s created, %(duplicates)s duplicates skipped, %(available)s available.") % {
                "sku": variation.sku,
                "created": created,
                "duplicates": duplicates,
                "available": available,
            }
            if rejected:
                text += " " + _("Rejected (over %(max)s characters) lines: %(lines)s") % {
                    "max": MAX_CREDENTIALS_LENGTH,
                    "lines": ", ".join(str(n) for n in rejected[:50]),
                }
            self.message_user(request, text, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:catalog_license_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Import licenses"),
            "submit_label": _("Import"),
            "intro": _("Credentials are encrypted before they are stored; duplicates of this variation are skipped."),
            "stock_rows": variations.values(
                "product__name", "sku", "stock_available", "stock_delivered", "low_stock_threshold"
            ),
        }
        return TemplateResponse(request, "admin/nuvlyx/form_page.html", context)
