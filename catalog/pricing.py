"""THE tier price rule. The price endpoint, order placement and the admin all call this module.

A customer pays the variation's explicit price for the customer's tier; without a tier, or
without an explicit price for that tier, the base price (and no applied tier).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .models import PriceTier, TierPrice, Variation


@dataclass(frozen=True)
class PriceQuote:
    variation: Variation
    base_price: Decimal
    price: Decimal
    applied_tier: PriceTier | None


def tier_prices_for(*, variation_ids: Iterable, tier: PriceTier | None) -> dict:
    """{variation_id: price} of explicit prices for one tier (one query; none without a tier)."""
    if tier is None:
        return {}
    ids = list(variation_ids)
    if not ids:
        return {}
    rows = TierPrice.objects.filter(tier_id=tier.pk, variation_id__in=ids).values_list("variation_id", "price")
    return dict(rows)


def quote_variation(*, variation: Variation, tier: PriceTier | None, tier_prices: dict) -> PriceQuote:
    """The rule itself. `tier_prices` comes from tier_prices_for(tier=tier)."""
    explicit = tier_prices.get(variation.pk) if tier is not None else None
    if explicit is None:
        return PriceQuote(variation=variation, base_price=variation.price, price=variation.price, applied_tier=None)
    return PriceQuote(variation=variation, base_price=variation.price, price=explicit, applied_tier=tier)


def quote_variations(
    *, variations: Iterable[Variation], tier: PriceTier | None, tier_prices: dict | None = None
) -> list[PriceQuote]:
    """Quotes for several variations. `tier_prices` ({variation_id: explicit price for `tier`}) may be given
    by a caller that already read them (the price endpoint reads them in the same statement as the
    variations); otherwise they are read with tier_prices_for (one query)."""
    variations = list(variations)
    if tier_prices is None:
        tier_prices = tier_prices_for(variation_ids=[v.pk for v in variations], tier=tier)
    return [quote_variation(variation=v, tier=tier, tier_prices=tier_prices) for v in variations]
