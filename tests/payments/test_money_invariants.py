"""Whatever staff and gateways do to an order, in any order — confirmations for right and wrong
amounts, the same notice again, refunds — money and membership days stay consistent: at most one
payment and one refund per order, the order's net is its price or nothing, and the reader holds the
plan's days exactly when the order is paid and not refunded (Hypothesis)."""
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contentlib.errors import ApplicationError
from contentlib.models import MembershipGrant
from payments import services
from payments.models import Payment, PaymentOrder, Plan

OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("confirm"), st.sampled_from([Decimal("30.00"), Decimal("29.99"), Decimal("300.00")])),
    st.tuples(st.just("notice"), st.sampled_from(["evt_a", "evt_b"]),
              st.sampled_from([Decimal("30.00"), Decimal("3.00")]), st.sampled_from(["CNY", "USD"])),
    st.tuples(st.just("refund")),
), max_size=8)


@pytest.mark.django_db
def test_any_sequence_of_operations_keeps_money_and_days_consistent():
    plan = Plan.objects.create(slug="monthly", name="VIP月卡", name_en="VIP monthly", price=Decimal("30.00"),
                               period_days=30)
    staff = get_user_model().objects.create_user(username="finance", password="pw-for-tests-only", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="payments"))
    staff = get_user_model().objects.get(id=staff.id)
    numbers = itertools.count()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(operations=OPERATIONS, provider=st.sampled_from(["bank_transfer", "stripe"]))
    def check(operations, provider):
        reader = get_user_model().objects.create_user(username=f"r{next(numbers)}", password="pw-for-tests-only")
        order = PaymentOrder.objects.create(reference=f"T-{reader.id}", purpose="reader_plan", provider=provider,
                                            user=reader, plan=plan, amount=plan.price, currency="CNY")
        for operation in operations:
            try:
                if operation[0] == "confirm":
                    services.bank_transfer_confirm(order_id=order.id, amount=operation[1], actor=staff)
                elif operation[0] == "notice":
                    _, event, amount, currency = operation
                    services.order_pay(order_id=order.id, amount=amount, currency=currency, provider=provider,
                                       gateway_event=f"{event}-{order.id}")
                else:
                    paid = order.payments.filter(kind="payment").first()
                    if paid is not None:
                        services.payment_refund(payment_id=paid.id, actor=staff)
            except ApplicationError:
                pass  # refused: and so it must have changed nothing, which the invariants below check
        rows = list(Payment.objects.filter(order=order))
        paid = [r for r in rows if r.kind == "payment"]
        refunds = [r for r in rows if r.kind == "refund"]
        assert len(paid) <= 1 and len(refunds) <= len(paid)
        assert all(r.amount == order.amount and r.currency == "CNY" for r in paid)
        net = sum((r.amount for r in rows), Decimal("0"))
        assert net == (order.amount if paid and not refunds else Decimal("0"))
        days = sum(MembershipGrant.objects.filter(membership__user=reader).values_list("days", flat=True))
        assert days == (30 if paid and not refunds else 0)
        assert all(r.provider == provider for r in paid)

    check()
