"""Amounts kept to 0.0001 CNY read as people expect: whole cents with two places, finer amounts exact."""
from decimal import Decimal

from ads.templatetags.money import yuan


def test_whole_cents_show_two_places_and_finer_amounts_are_never_rounded():
    assert yuan(Decimal("1000.0000")) == "1000.00"
    assert yuan(Decimal("-1.2000")) == "-1.20"
    assert yuan(Decimal("999.9631")) == "999.9631"
    assert yuan(Decimal("0.0250")) == "0.025"
    assert yuan(Decimal("1E+3")) == "1000.00"
    assert yuan("") == ""
