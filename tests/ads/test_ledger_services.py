"""Money: Decimal CNY, an append-only ledger whose sum is always the balance, refunds and credits as
reversing entries, nothing deleted."""
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from hypothesis import HealthCheck, given, settings, strategies as st

from ads import selectors, services
from ads.models import Advertiser, LedgerEntry
from contentlib.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_a_top_up_is_an_entry_with_the_staff_members_name(company_a, staff):
    entry = services.ledger_top_up(advertiser_id=company_a.advertiser.id, amount="250.5", actor=staff, note="银行转账 123")
    assert (entry.kind, entry.amount, entry.currency, entry.actor_name) == ("top_up", Decimal("250.50"), "CNY", "staff")
    assert Advertiser.objects.get(id=company_a.advertiser.id).balance == Decimal("1250.50") == entry.balance_after


def test_a_refund_reverses_a_top_up_and_cannot_reverse_more_than_it(company_a, staff):
    top_up = LedgerEntry.objects.get(id=company_a.ids["entry_id"])
    effect = services.ledger_effect(advertiser_id=company_a.advertiser.id, kind="refund", amount="400",
                                    reverses_id=top_up.id)
    assert (effect.amount, effect.balance_before, effect.balance_after) == (
        Decimal("-400.00"), Decimal("1000.00"), Decimal("600.00"))
    assert LedgerEntry.objects.filter(advertiser=company_a.advertiser).count() == 1  # showing the effect wrote nothing
    services.ledger_reverse(advertiser_id=company_a.advertiser.id, kind="refund", amount="400", actor=staff,
                            reason="合同终止", reverses_id=top_up.id)
    with pytest.raises(ApplicationError) as refused:
        services.ledger_reverse(advertiser_id=company_a.advertiser.id, kind="refund", amount="600.01", actor=staff,
                                reason="再退", reverses_id=top_up.id)
    assert refused.value.extra["field"] == "amount" and "600.00" in refused.value.message


def test_a_refund_never_makes_the_balance_negative(company_a, staff):
    with pytest.raises(ApplicationError) as refused:
        services.ledger_reverse(advertiser_id=company_a.advertiser.id, kind="refund", amount="1000.01", actor=staff,
                                reason="退款")
    assert refused.value.extra["field"] == "amount"


def test_a_refund_or_credit_needs_a_reason(company_a, staff):
    with pytest.raises(ApplicationError) as refused:
        services.ledger_reverse(advertiser_id=company_a.advertiser.id, kind="credit", amount="10", actor=staff,
                                reason="")
    assert refused.value.extra["field"] == "reason"


def test_only_staff_with_the_permission_move_money(company_a, editor):
    with pytest.raises(ApplicationError) as refused:
        services.ledger_top_up(advertiser_id=company_a.advertiser.id, amount="10", actor=editor)
    assert refused.value.extra["code"] == "forbidden"


def test_ledger_rows_are_protected_and_their_sign_follows_their_kind(company_a):
    entry = LedgerEntry.objects.get(id=company_a.ids["entry_id"])
    with pytest.raises(ProtectedError):
        company_a.advertiser.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(advertiser=company_a.advertiser, kind="refund", amount=Decimal("5"),
                                   balance_after=Decimal("0"), actor_name="x")
    assert LedgerEntry.objects.filter(id=entry.id).exists()


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.tuples(st.sampled_from(["top_up", "refund", "credit"]), money), min_size=1, max_size=12))
def test_the_balance_always_equals_the_ledgers_sum(company_a, staff, moves):
    """Whatever staff do, in any order, the balance shown is the sum of the ledger, to the cent."""
    advertiser_id = company_a.advertiser.id
    for kind, amount in moves:
        try:
            if kind == "top_up":
                services.ledger_top_up(advertiser_id=advertiser_id, amount=amount, actor=staff)
            else:
                services.ledger_reverse(advertiser_id=advertiser_id, kind=kind, amount=amount, actor=staff,
                                        reason="property test")
        except ApplicationError:
            pass  # a refund larger than the balance is refused; the invariant must still hold
        balance = Advertiser.objects.get(id=advertiser_id).balance
        assert balance == selectors.ledger_sum(advertiser_id=advertiser_id)
        assert balance >= 0
        assert LedgerEntry.objects.filter(advertiser_id=advertiser_id).order_by("-id").first().balance_after == balance
