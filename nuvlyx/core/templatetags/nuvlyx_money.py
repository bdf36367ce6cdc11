from django import template

from nuvlyx.core.money import money_display

register = template.Library()


@register.filter
def money(amount, store):
    """{{ amount|money:store }} → "$ 50.000" in the store's format (nuvlyx.core.money.money_display)."""
    return money_display(amount, store)
