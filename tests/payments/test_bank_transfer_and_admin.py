"""Bank transfers (an order with a reference number, confirmed by staff in admin), refunds as reversing
rows, staff grants, the append-only admin, the reader's VIP pages, and members and revenue by plan and
month."""
from decimal import Decimal

import pytest
from django.test import Client
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contentlib.errors import ApplicationError
from contentlib.models import Membership, MembershipGrant
from payments import selectors, services
from payments.errors import NoticeRefused
from payments.models import Payment, PaymentNotice, PaymentOrder, Plan


@pytest.fixture
def finance(db):
    """A staff member who may confirm transfers and refund."""
    user = get_user_model().objects.create_user(username="finance", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["payments", "contentlib"]))
    return get_user_model().objects.get(id=user.id)


@pytest.fixture
def order(reader, plan):
    return services.order_create_for_plan(user=reader, plan_id=plan.id, provider="bank_transfer")


def test_an_order_has_a_reference_to_quote_and_the_price_of_the_day(order, plan):
    assert order.reference.startswith("VIP") and len(order.reference) == 18
    assert not set(order.reference.split("-")[1]) & set("01OIL")
    Plan.objects.filter(id=plan.id).update(price=Decimal("99.00"))
    order.refresh_from_db()
    assert order.amount == Decimal("30.00")  # fixed when made


def test_the_reader_sees_where_to_transfer_and_the_reference(client, reader, order):
    client.force_login(reader)
    page = client.get(reverse("payments:order", args=[order.reference])).content.decode()
    assert "等待你的银行转账" in page and order.reference in page and "¥30.00" in page


def test_another_reader_cannot_see_the_order(client, order):
    other = get_user_model().objects.create_user(username="other", password="pw-for-tests-only")
    client.force_login(other)
    assert client.get(reverse("payments:order", args=[order.reference])).status_code == 404


def test_subscribing_from_the_vip_page_makes_a_bank_transfer_order(client, reader, plan):
    client.force_login(reader)
    assert "VIP月卡" in client.get(reverse("payments:vip")).content.decode()
    response = client.post(reverse("payments:subscribe", args=[plan.id]), {"provider": "bank_transfer"})
    made = PaymentOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("payments:order", args=[made.reference])
    assert made.user == reader and made.amount == plan.price


def test_card_payment_is_refused_when_stripe_is_not_configured(client, reader, plan, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(reader)
    response = client.post(reverse("payments:subscribe", args=[plan.id]), {"provider": "stripe"})
    assert response.status_code == 400 and "暂不支持这种支付方式。请选择银行转账。" in response.content.decode()
    assert not PaymentOrder.objects.exists()


def test_staff_confirm_a_transfer_in_admin_and_the_reader_becomes_a_member(client, finance, order, reader):
    client.force_login(finance)
    changelist = reverse("admin:payments_paymentorder_changelist")
    check = client.post(changelist, {"action": "confirm_bank_transfer", "_selected_action": [order.id]})
    assert order.reference in check.content.decode() and "¥30.00" in check.content.decode()
    assert not Payment.objects.exists()  # nothing yet: staff check the bank statement first
    response = client.post(changelist, {"action": "confirm_bank_transfer", "_selected_action": [order.id],
                                        "confirmed": "1"}, follow=True)
    assert f"{order.reference}：¥30.00 的转账已确认" in response.content.decode()
    payment = Payment.objects.get(order=order)
    assert payment.confirmed_by == finance and payment.amount == Decimal("30.00")
    assert Membership.objects.get(user=reader).grants.get().reference == order.reference
    again = client.post(changelist, {"action": "confirm_bank_transfer", "_selected_action": [order.id],
                                     "confirmed": "1"}, follow=True)
    assert "已付款；没有重复入账" in again.content.decode()
    assert Payment.objects.count() == 1 and MembershipGrant.objects.count() == 1


def test_a_wrong_amount_is_refused_and_credits_nothing(finance, order):
    with pytest.raises(NoticeRefused) as refused:
        services.bank_transfer_confirm(order_id=order.id, amount=Decimal("3.00"), actor=finance)
    assert refused.value.outcome == PaymentNotice.Outcome.WRONG_AMOUNT
    assert not Payment.objects.exists() and not Membership.objects.exists()


def test_staff_without_the_permission_cannot_confirm(editor, order):
    with pytest.raises(ApplicationError, match="确认银行转账权限"):
        services.bank_transfer_confirm(order_id=order.id, amount=order.amount, actor=editor)
    assert not Payment.objects.exists()


def test_a_refund_in_admin_is_a_reversing_row_and_ends_the_paid_days(client, finance, order, reader):
    payment = services.bank_transfer_confirm(order_id=order.id, amount=order.amount, actor=finance)
    client.force_login(finance)
    client.post(reverse("admin:payments_payment_changelist"), {"action": "refund", "_selected_action": [payment.id]})
    refund = Payment.objects.get(kind="refund")
    assert refund.amount == Decimal("-30.00") and refund.reverses == payment and refund.confirmed_by == finance
    membership = Membership.objects.get(user=reader)
    assert membership.until <= timezone.now() and sum(membership.grants.values_list("days", flat=True)) == 0
    with pytest.raises(NoticeRefused):
        services.payment_refund(payment_id=payment.id, actor=finance)


def test_staff_grant_a_membership_in_admin(client, finance, reader, plan):
    client.force_login(finance)
    add = reverse("admin:contentlib_membershipgrant_add")
    unknown = client.post(add, {"reader": "nobody@example.com", "plan": plan.id, "note": ""})
    assert "没有已激活的账号使用 nobody@example.com" in unknown.content.decode()
    response = client.post(add, {"reader": "Reader@Example.com", "plan": plan.id, "note": "活动奖品"})
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = MembershipGrant.objects.get()
    assert grant.source == "staff" and grant.granted_by == finance and grant.days == 30 and grant.note == "活动奖品"


@pytest.mark.parametrize("model", ["paymentorder", "payment", "paymentnotice", "plan"])
def test_nothing_can_be_deleted_in_admin(client, finance, order, model):
    client.force_login(finance)
    obj = {"paymentorder": order, "plan": order.plan}.get(model)
    if obj is None:
        obj = (services.bank_transfer_confirm(order_id=order.id, amount=order.amount, actor=finance)
               if model == "payment" else PaymentNotice.objects.create(provider="stripe", outcome="malformed"))
    assert client.get(reverse(f"admin:payments_{model}_delete", args=[obj.id])).status_code == 403
    changelist = client.get(reverse(f"admin:payments_{model}_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_memberships_and_grants_cannot_be_edited_or_deleted(client, finance, reader):
    from contentlib import services as library  # noqa: PLC0415

    grant = library.membership_extend(user_id=reader.id, days=30, plan_slug="monthly", source="staff")
    client.force_login(finance)
    for model, obj in (("membership", grant.membership), ("membershipgrant", grant)):
        assert client.get(reverse(f"admin:contentlib_{model}_delete", args=[obj.id])).status_code == 403
        page = client.post(reverse(f"admin:contentlib_{model}_change", args=[obj.id]), {"days": 999})
        assert page.status_code == 403
    assert MembershipGrant.objects.get().days == 30


def test_members_and_revenue_by_plan_and_month(finance, reader, plan, analyst, capsys):
    yearly = Plan.objects.create(slug="yearly", name="VIP年卡", name_en="VIP yearly", price=Decimal("298.00"),
                                 period_days=365)
    other = get_user_model().objects.create_user(username="o@example.com", password="pw-for-tests-only")
    for user, chosen in ((reader, plan), (reader, plan), (other, yearly)):
        made = services.order_create_for_plan(user=user, plan_id=chosen.id, provider="bank_transfer")
        last = services.bank_transfer_confirm(order_id=made.id, amount=made.amount, actor=finance)
    services.payment_refund(payment_id=last.id, actor=finance)
    rows = {row.plan: row for row in selectors.members_and_revenue_by_plan_month(user=finance)}
    assert (rows["monthly"].members, rows["monthly"].paid_orders, rows["monthly"].revenue) == (1, 2, Decimal("60.00"))
    assert (rows["yearly"].revenue, rows["yearly"].refunds, rows["yearly"].net) == (
        Decimal("298.00"), Decimal("-298.00"), Decimal("0.00"))
    assert selectors.members_and_revenue_by_plan_month(user=reader) == []  # a reader may not view payments
    assert selectors.members_and_revenue_by_plan_month(user=analyst) == list(rows.values())  # analysts read them
    page = Client()
    page.force_login(analyst)
    html = page.get("/reports/vip/").content.decode()  # the analysts' reports page of the same figures
    assert "yearly" in html and "60.00" in html and "-298.00" in html
    page.force_login(reader)
    assert "60.00" not in page.get("/reports/vip/").content.decode()
    call_command("vip_report")
    printed = capsys.readouterr().out
    assert "monthly" in printed and "60.00" in printed and "-298.00" in printed
