"""The portal's online top-up pages (payments/portal.py): the owner orders a top-up, sees where to
transfer or goes to the card checkout, and sees the order paid once staff confirm it; members,
reporters, suspended advertisers and other advertisers' users are refused."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from ads.models import Advertiser, LedgerEntry
from payments import services
from payments.models import PaymentOrder
from tests.payments.conftest import stripe_gateway  # noqa: F401  (the local Stripe fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(staff):
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="payments"))
    return staff


def new_orders(company):
    return PaymentOrder.objects.filter(advertiser=company.advertiser).exclude(reference=company.ids["reference"])


def test_the_dashboard_links_the_owner_to_top_up(client, company_a):
    client.force_login(company_a.owner.user)
    assert reverse("portal:topup") in client.get(reverse("portal:dashboard")).content.decode()
    client.force_login(company_a.member.user)
    assert reverse("portal:topup") not in client.get(reverse("portal:dashboard")).content.decode()


def test_the_owner_tops_up_by_bank_transfer_and_staff_confirm_it(client, company_a, finance):
    client.force_login(company_a.owner.user)
    page = client.get(reverse("portal:topup")).content.decode()
    assert "在线充值" in page and 'value="bank_transfer"' in page and 'value="stripe"' not in page
    assert company_a.ids["reference"] in page and "等待付款" in page  # the order made by the fixture, waiting
    response = client.post(reverse("portal:topup"), {"amount": "2000", "provider": "bank_transfer"})
    order = new_orders(company_a).get()
    assert response.status_code == 302 and response.headers["Location"] == reverse("portal:topup_order",
                                                                                      args=[order.reference])
    assert order.amount == Decimal("2000.00") and order.user == company_a.owner.user
    shown = client.get(response.headers["Location"]).content.decode()
    assert order.reference in shown and "2000.00" in shown and "附言" in shown
    balance = Advertiser.objects.get(id=company_a.advertiser.id).balance
    services.bank_transfer_confirm(order_id=order.id, amount=order.amount, actor=finance)
    assert Advertiser.objects.get(id=company_a.advertiser.id).balance == balance + Decimal("2000.00")
    assert LedgerEntry.objects.filter(advertiser=company_a.advertiser, note__contains=order.reference).count() == 1
    assert "已付款" in client.get(reverse("portal:topup_order", args=[order.reference])).content.decode()


def test_the_owner_tops_up_by_card_through_stripe_checkout(client, company_a, stripe_gateway):  # noqa: F811
    client.force_login(company_a.owner.user)
    assert 'value="stripe"' in client.get(reverse("portal:topup")).content.decode()
    response = client.post(reverse("portal:topup"), {"amount": "300.50", "provider": "stripe"})
    order = new_orders(company_a).get()
    assert response.status_code == 302
    assert response.headers["Location"] == f"{stripe_gateway.base}/pay/{order.gateway_session}"
    assert stripe_gateway.requests[-1][2]["line_items"]["0"]["price_data"]["unit_amount"] == "30050"


@pytest.mark.parametrize(("amount", "message"), [
    ("abc", "不是金额"), ("50", "在线充值最低 100.00 元"), ("60000", "单笔在线充值最多 50000.00 元"), ("100.001", "两位小数"),
])
def test_a_wrong_amount_is_shown_on_the_form_with_what_to_do(client, company_a, amount, message):
    client.force_login(company_a.owner.user)
    response = client.post(reverse("portal:topup"), {"amount": amount, "provider": "bank_transfer"})
    assert response.status_code == 400 and message in response.content.decode()
    assert not new_orders(company_a).exists()


def test_card_is_refused_when_stripe_is_not_configured(client, company_a):
    client.force_login(company_a.owner.user)
    response = client.post(reverse("portal:topup"), {"amount": "500", "provider": "stripe"})
    assert response.status_code == 400 and not new_orders(company_a).exists()


@pytest.mark.parametrize("role", ["member", "reporter"])
def test_members_and_reporters_cannot_top_up(client, company_a, role):
    client.force_login(getattr(company_a, role).user)
    assert client.get(reverse("portal:topup")).status_code == 403
    refused = client.post(reverse("portal:topup"), {"amount": "500", "provider": "bank_transfer"})
    assert refused.status_code == 403 and "所有者" in refused.content.decode()
    assert client.get(reverse("portal:topup_order", args=[company_a.ids["reference"]])).status_code == 403
    assert not new_orders(company_a).exists()


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_suspended_or_closed_advertiser_cannot_top_up(client, company_a, status):
    Advertiser.objects.filter(id=company_a.advertiser.id).update(status=status)
    client.force_login(company_a.owner.user)
    assert client.get(reverse("portal:topup")).status_code == 403
    assert client.post(reverse("portal:topup"), {"amount": "500", "provider": "bank_transfer"}).status_code == 403
    assert not new_orders(company_a).exists()
    assert reverse("portal:topup") not in client.get(reverse("portal:dashboard")).content.decode()


def test_another_advertisers_user_can_neither_see_nor_pay_the_order(client, company_a, company_b, finance):
    client.force_login(company_b.owner.user)
    url = reverse("portal:topup_order", args=[company_a.ids["reference"]])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 405
    assert company_a.ids["reference"] not in client.get(reverse("portal:topup")).content.decode()
    # The VIP order page neither: it shows a payer only their own orders.
    assert client.get(reverse("payments:order", args=[company_a.ids["reference"]])).status_code == 404
    # B's owner names A's advertiser in the form: the order is B's all the same.
    client.post(reverse("portal:topup"), {"amount": "500", "provider": "bank_transfer",
                                          "advertiser": company_a.advertiser.id,
                                          "advertiser_id": company_a.advertiser.id})
    assert not new_orders(company_a).exists() and new_orders(company_b).count() == 1
