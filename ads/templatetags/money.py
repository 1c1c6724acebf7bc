"""`{{ amount|yuan }}`: an amount of money as people read it. Balances and the ledger are kept to
0.0001 CNY (a CPM impression's price); a whole-cent amount shows two places (1000.00), a finer one
its own (999.9631), never rounded: the ledger must add up on the page too."""
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()
CENT = Decimal("0.01")


@register.filter
def yuan(value) -> str:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    if amount == amount.quantize(CENT):
        return f"{amount.quantize(CENT):f}"
    return f"{amount.normalize():f}"
