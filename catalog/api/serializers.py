"""Input serializers of the catalog endpoints (output is rendered by catalog.selectors as plain dicts).

Field names are the API's camelCase names, so 422 errors name them as the client sent them
(`variations[0].tierPrices[1].tierId`). `to_service()` turns validated data into service kwargs.
"""

import re
import uuid

from rest_framework import serializers

from nuvlyx.api.fields import (
    MoneyField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictUUIDField,
    parse_uuid,
)

from ..models import Product

SLUG_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
SLUG_MESSAGE = "Must be lowercase letters, digits, '-' or '_' (e.g. 1-month-subscription)."
MAX_TEXT = 10_000
MAX_CATEGORY_IDS = 50
MAX_TIER_PRICES = 50
MAX_VARIATIONS = 50
MAX_TIER_LEVEL = 1_000_000
MAX_DURATION_DAYS = 36_500


class UUIDListField(serializers.Field):
    """A list of UUID strings; errors name the index (`categoryIds[2]`)."""

    def __init__(self, *, max_items: int, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[uuid.UUID]:
        if not isinstance(data, list):
            raise serializers.ValidationError("Must be a list of ids.")
        if len(data) > self.max_items:
            raise serializers.ValidationError(f"At most {self.max_items} ids.")
        parsed = [parse_uuid(item) for item in data]
        if any(p is None for p in parsed):
            raise serializers.ValidationError([[] if p is not None else ["Must be a valid UUID."] for p in parsed])
        return parsed


class SlugField(StrictCharField):
    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        if not SLUG_RE.match(value):
            raise serializers.ValidationError(SLUG_MESSAGE)
        return value


def text_field(max_length: int = MAX_TEXT) -> StrictCharField:
    return StrictCharField(required=False, allow_blank=True, max_length=max_length, trim_whitespace=False)


class TierPriceInput(serializers.Serializer):
    tierId = StrictUUIDField()
    price = MoneyField()


class VariationCreateInput(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    name = StrictCharField(required=False, allow_blank=True, max_length=200)
    price = MoneyField()
    durationDays = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_DURATION_DAYS)
    dependsOnStock = StrictBooleanField(required=False)
    tierPrices = TierPriceInput(many=True, required=False, max_length=MAX_TIER_PRICES)


class VariationPatchInput(VariationCreateInput):
    """PATCH: with `id` every field is optional (update); without, sku and price are required (add)."""

    id = StrictUUIDField(required=False)
    sku = StrictCharField(max_length=64, required=False)
    price = MoneyField(required=False)

    def validate(self, attrs):
        if not attrs.get("id"):
            missing = {name: ["This field is required."] for name in ("sku", "price") if name not in attrs}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


_KIND_CHOICES = Product.Kind.values
_STATUS_CHOICES = Product.Status.values


class ProductCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=200)
    slug = SlugField(required=False, max_length=220)
    kind = serializers.ChoiceField(choices=_KIND_CHOICES, required=False)
    status = serializers.ChoiceField(choices=_STATUS_CHOICES, required=False)
    description = text_field()
    postSaleInstructions = text_field()
    categoryIds = UUIDListField(required=False, max_items=MAX_CATEGORY_IDS)
    variations = VariationCreateInput(many=True, min_length=1, max_length=MAX_VARIATIONS)


class ProductPatchInput(ProductCreateInput):
    name = StrictCharField(max_length=200, required=False)
    variations = VariationPatchInput(many=True, required=False, max_length=MAX_VARIATIONS)


def _variation_to_service(data: dict) -> dict:
    out = {}
    for api_name, name in (
        ("id", "id"),
        ("sku", "sku"),
        ("name", "name"),
        ("price", "price"),
        ("durationDays", "duration_days"),
        ("dependsOnStock", "depends_on_stock"),
    ):
        if api_name in data:
            out[name] = data[api_name]
    if "tierPrices" in data:
        out["tier_prices"] = [{"tier_id": tp["tierId"], "price": tp["price"]} for tp in data["tierPrices"]]
    return out


def product_input_to_service(data: dict) -> dict:
    """Validated ProductCreateInput / ProductPatchInput data → product_create / product_update kwargs."""
    out = {}
    for api_name, name in (
        ("name", "name"),
        ("slug", "slug"),
        ("kind", "kind"),
        ("status", "status"),
        ("description", "description"),
        ("postSaleInstructions", "post_sale_instructions"),
        ("categoryIds", "category_ids"),
    ):
        if api_name in data:
            out[name] = data[api_name]
    if "variations" in data:
        out["variations"] = [_variation_to_service(v) for v in data["variations"]]
    return out


class CategoryCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=120)
    slug = SlugField(required=False, max_length=140)
    description = text_field(2_000)


class PriceTierCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=60)
    level = StrictIntegerField(min_value=0, max_value=MAX_TIER_LEVEL)
