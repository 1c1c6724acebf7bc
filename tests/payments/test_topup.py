"""Advertisers' online top-ups: a paid order credits the advertiser's ledger exactly once (bank
transfer confirmed by staff, or a Stripe notice however often it arrives), a refund writes the
reversing entry, and only the advertiser's owner may order one, for an amount within the limits."""
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Sum
from django.urls import reverse

from ads import services as ads_services
from ads.models import Advertiser, AdvertiserUser, LedgerEntry
from contentlib.errors import ApplicationError
from payments import services, topup
from payments.errors import NoticeRefused
from payments.models import Payment, PaymentOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    user = get_user_model().objects.create_user(username="finance", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["payments", "contentlib"]))
    return get_user_model().objects.get(id=user.id)


@pytest.fixture
def advertiser(db):
    return Advertiser.objects.create(name="示例物流有限公司", status=Advertiser.Status.ACTIVE)


def _user(advertiser, role, name):
    user = get_user_model().objects.create_user(username=name, password="pw-for-tests-only")
    AdvertiserUser.objects.create(user=user, advertiser=advertiser, role=role)
    return user


@pytest.fixture
def owner(advertiser):
    return _user(advertiser, "owner", "owner")


def balance_and_sum(advertiser) -> tuple[Decimal, Decimal]:
    total = LedgerEntry.objects.filter(advertiser=advertiser).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    return Advertiser.objects.get(id=advertiser.id).balance, Decimal(total).quantize(Decimal("0.01"))


def test_the_ledger_is_wired():
    assert topup.topup_ledger_available() is True


def test_a_confirmed_transfer_credits_the_ledger_once(owner, advertiser, finance):
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="500",
                                            provider="bank_transfer")
    assert order.reference.startswith("TOP") and order.amount == Decimal("500.00")
    assert LedgerEntry.objects.filter(advertiser=advertiser).count() == 0  # an order alone credits nothing
    payment = services.bank_transfer_confirm(order_id=order.id, amount=Decimal("500.00"), actor=finance)
    with pytest.raises(NoticeRefused):  # staff confirm the same transfer again
        services.bank_transfer_confirm(order_id=order.id, amount=Decimal("500.00"), actor=finance)
    entry = LedgerEntry.objects.get(advertiser=advertiser)
    assert (entry.kind, entry.amount, entry.actor_name) == ("top_up", Decimal("500.00"), "在线支付 / online payment")
    assert order.reference in entry.note and f"[payment:{payment.id}]" in entry.note
    assert balance_and_sum(advertiser) == (Decimal("500.00"), Decimal("500.00"))


def test_the_hook_called_twice_for_one_payment_writes_one_entry(owner, advertiser, finance):
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="300",
                                            provider="bank_transfer")
    payment = services.bank_transfer_confirm(order_id=order.id, amount=Decimal("300.00"), actor=finance)
    topup.advertiser_topup_credit(order=order, payment=payment)
    assert LedgerEntry.objects.filter(advertiser=advertiser).count() == 1
    assert balance_and_sum(advertiser) == (Decimal("300.00"), Decimal("300.00"))


def test_a_failing_ledger_write_undoes_the_payment(owner, advertiser, finance, monkeypatch):
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="300",
                                            provider="bank_transfer")

    def broken(**kwargs):
        raise RuntimeError("ledger down")
    monkeypatch.setattr(ads_services, "_post", broken)
    with pytest.raises(RuntimeError):
        services.bank_transfer_confirm(order_id=order.id, amount=Decimal("300.00"), actor=finance)
    assert not Payment.objects.exists()


def test_staff_confirm_in_admin_and_the_ledger_is_credited(client, owner, advertiser, finance):
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="800",
                                            provider="bank_transfer")
    client.force_login(finance)
    url = reverse("admin:payments_paymentorder_changelist")
    for _ in range(2):
        client.post(url, {"action": "confirm_bank_transfer", "_selected_action": [order.id], "confirmed": "1"})
    assert LedgerEntry.objects.filter(advertiser=advertiser, kind="top_up").count() == 1
    assert balance_and_sum(advertiser) == (Decimal("800.00"), Decimal("800.00"))


def test_a_refund_writes_the_reversing_entry_and_the_balance_goes_back(client, owner, advertiser, finance):
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="600",
                                            provider="bank_transfer")
    payment = services.bank_transfer_confirm(order_id=order.id, amount=Decimal("600.00"), actor=finance)
    client.force_login(finance)
    done = client.post(reverse("admin:payments_payment_changelist"),
                       {"action": "refund", "_selected_action": [payment.id]}, follow=True)
    assert "这笔充值已从广告主余额中扣回" in done.content.decode()
    top_up = LedgerEntry.objects.get(advertiser=advertiser, kind="top_up")
    refund = LedgerEntry.objects.get(advertiser=advertiser, kind="refund")
    assert refund.amount == Decimal("-600.00") and refund.reverses_id == top_up.id
    assert balance_and_sum(advertiser) == (Decimal("0.00"), Decimal("0.00"))
    with pytest.raises(NoticeRefused):  # refunded once only
        services.payment_refund(payment_id=payment.id, actor=finance)
    assert LedgerEntry.objects.filter(advertiser=advertiser).count() == 2


def test_staff_cannot_refund_a_top_up_already_spent(owner, advertiser, finance):
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="600",
                                            provider="bank_transfer")
    payment = services.bank_transfer_confirm(order_id=order.id, amount=Decimal("600.00"), actor=finance)
    Advertiser.objects.filter(id=advertiser.id).update(balance=Decimal("100.00"))  # as if 500 were spent
    LedgerEntry.objects.create(advertiser=advertiser, kind="charge", amount=Decimal("-500.00"),
                               balance_after=Decimal("100.00"), actor_name="system")
    with pytest.raises(ApplicationError, match="100.00"):
        services.payment_refund(payment_id=payment.id, actor=finance)
    assert Payment.objects.filter(kind="refund").count() == 0
    assert balance_and_sum(advertiser) == (Decimal("100.00"), Decimal("100.00"))


def test_staff_cannot_refund_a_top_up_whose_money_cpm_impressions_have_accrued(owner, advertiser, finance):
    """CPM spend accrues on the advertiser before its ledger entry is flushed: it is spent all the same."""
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="600",
                                            provider="bank_transfer")
    payment = services.bank_transfer_confirm(order_id=order.id, amount=Decimal("600.00"), actor=finance)
    Advertiser.objects.filter(id=advertiser.id).update(accrued=Decimal("0.0500"))  # 10 impressions at 5 CNY CPM
    with pytest.raises(ApplicationError, match="599.9500"):
        services.payment_refund(payment_id=payment.id, actor=finance)
    assert Payment.objects.filter(kind="refund").count() == 0
    assert balance_and_sum(advertiser) == (Decimal("600.00"), Decimal("600.00"))


@pytest.mark.parametrize(("amount", "message"), [
    ("abc", "不是金额"), ("99.99", "100.00"), ("50000.01", "50000.00"), ("120.555", "两位小数"), ("-5", "100.00"),
])
def test_amounts_outside_the_limits_are_refused_with_what_to_do(owner, advertiser, amount, message):
    with pytest.raises(ApplicationError, match=message):
        services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount=amount,
                                        provider="bank_transfer")
    assert not PaymentOrder.objects.exists()


def test_the_limits_come_from_settings(owner, advertiser, settings):
    settings.AD_TOPUP_MIN = Decimal("10.00")
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="10",
                                            provider="bank_transfer")
    assert order.amount == Decimal("10.00")


@pytest.mark.parametrize("role", ["member", "reporter"])
def test_only_the_owner_may_order_a_top_up(advertiser, role):
    user = _user(advertiser, role, role)
    with pytest.raises(ApplicationError, match="所有者|owner") as refused:
        services.order_create_for_topup(user=user, advertiser_id=advertiser.id, amount="500",
                                        provider="bank_transfer")
    assert refused.value.extra["code"] == "forbidden"
    assert not PaymentOrder.objects.exists()


def test_no_one_tops_up_another_advertiser(owner):
    other = Advertiser.objects.create(name="别家公司", status=Advertiser.Status.ACTIVE)
    with pytest.raises(ApplicationError) as refused:
        services.order_create_for_topup(user=owner, advertiser_id=other.id, amount="500", provider="bank_transfer")
    assert refused.value.extra["code"] == "not_found"


@pytest.mark.parametrize("status", ["suspended", "closed", "applied"])
def test_a_suspended_or_closed_advertiser_cannot_top_up(owner, advertiser, status):
    Advertiser.objects.filter(id=advertiser.id).update(status=status)
    with pytest.raises(ApplicationError) as refused:
        services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="500",
                                        provider="bank_transfer")
    assert refused.value.extra["code"] == "forbidden"


def test_card_is_refused_when_stripe_is_not_configured(owner, advertiser, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(ApplicationError, match="银行转账|bank transfer"):
        services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="500", provider="stripe")


@pytest.fixture
def card_topup(live_server, stripe_gateway, owner, advertiser):
    """An owner's card top-up with its checkout session at the local Stripe, notices to our live site."""
    stripe_gateway.webhook_url = live_server.url + reverse("payments:stripe_webhook")
    order = services.order_create_for_topup(user=owner, advertiser_id=advertiser.id, amount="1200.50",
                                            provider="stripe")
    page = live_server.url + reverse("portal:topup_order", args=[order.reference])
    services.order_checkout_start(order_id=order.id, success_url=page, cancel_url=page)
    order.refresh_from_db()
    return order


def test_a_card_top_up_credits_once_whatever_notices_arrive(card_topup, stripe_gateway, advertiser):
    order = card_topup
    method, path, params = stripe_gateway.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["line_items"]["0"]["price_data"]["unit_amount"] == "120050"
    event = stripe_gateway.completed_event(order.gateway_session)
    assert stripe_gateway.post(event) == (200, "credited: ok\n")
    assert stripe_gateway.post(event)[0] == 400  # the same notice replayed
    assert stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))[1].startswith("already_paid")
    payment = Payment.objects.get(order=order)
    entry = LedgerEntry.objects.get(advertiser=advertiser)
    assert entry.amount == Decimal("1200.50") and f"[payment:{payment.id}]" in entry.note
    assert balance_and_sum(advertiser) == (Decimal("1200.50"), Decimal("1200.50"))


def test_a_card_refund_notice_reverses_the_top_up_once(card_topup, stripe_gateway, advertiser):
    order = card_topup
    stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))
    refund = stripe_gateway.refund_event(order.gateway_session)
    assert stripe_gateway.post(refund) == (200, "refunded: ok\n")
    assert stripe_gateway.post(refund)[0] == 400  # replayed
    kinds = list(LedgerEntry.objects.filter(advertiser=advertiser).order_by("id").values_list("kind", "amount"))
    assert kinds == [("top_up", Decimal("1200.50")), ("refund", Decimal("-1200.50"))]
    assert LedgerEntry.objects.get(kind="refund").reverses == LedgerEntry.objects.get(kind="top_up")
    assert balance_and_sum(advertiser) == (Decimal("0.00"), Decimal("0.00"))


def test_a_card_refund_of_a_spent_top_up_is_recorded_all_the_same(card_topup, stripe_gateway, advertiser):
    """The gateway has sent the money back already: the ledger must say so, even below zero."""
    order = card_topup
    stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))
    Advertiser.objects.filter(id=advertiser.id).update(balance=Decimal("200.50"))
    LedgerEntry.objects.create(advertiser=advertiser, kind="charge", amount=Decimal("-1000.00"),
                               balance_after=Decimal("200.50"), actor_name="system")
    assert stripe_gateway.post(stripe_gateway.refund_event(order.gateway_session)) == (200, "refunded: ok\n")
    assert balance_and_sum(advertiser) == (Decimal("-1000.00"), Decimal("-1000.00"))
