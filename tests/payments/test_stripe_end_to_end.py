"""Card payments end to end: our site (a live test server) against the local Stripe (tests/payments/
fake_stripe.py): the reader's checkout is created through the official client, the gateway posts signed
notices to our webhook, and only a genuine, fresh notice for a known order with the right amount and
currency credits anything — exactly once, however many arrive, at the same time too."""
import json
import logging
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contentlib.models import Membership, MembershipGrant
from payments import services
from payments.models import Payment, PaymentNotice


@pytest.fixture
def site(live_server, stripe_gateway):
    stripe_gateway.webhook_url = live_server.url + reverse("payments:stripe_webhook")
    return live_server


@pytest.fixture
def card_order(site, stripe_gateway, reader, plan):
    """A reader's card order with its checkout session created at the local gateway."""
    order = services.order_create_for_plan(user=reader, plan_id=plan.id, provider="stripe")
    page = site.url + reverse("payments:order", args=[order.reference])
    checkout = services.order_checkout_start(order_id=order.id, success_url=page, cancel_url=page)
    order.refresh_from_db()
    return order, checkout


def outcomes():
    return list(PaymentNotice.objects.order_by("id").values_list("outcome", flat=True))


def membership_days(reader) -> int:
    return sum(MembershipGrant.objects.filter(membership__user=reader).values_list("days", flat=True))


def test_checkout_session_is_created_through_the_official_client(card_order, stripe_gateway):
    order, checkout = card_order
    method, path, params = stripe_gateway.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["client_reference_id"] == order.reference and params["mode"] == "payment"
    price = params["line_items"]["0"]["price_data"]
    assert price["currency"] == "cny" and price["unit_amount"] == "3000"  # ¥30.00 in fen
    assert checkout.redirect_url == f"{stripe_gateway.base}/pay/{order.gateway_session}"


def test_paying_on_the_hosted_page_credits_the_order_once_and_returns_the_reader(card_order, stripe_gateway, reader):
    order, checkout = card_order
    request = urllib.request.Request(checkout.redirect_url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:  # follows the 303 back to our order page
        back = urllib.parse.urlparse(answer.url)  # which asks this cookie-less client to sign in first
        assert answer.status == 200 and back.path == "/login/"
        assert urllib.parse.parse_qs(back.query)["next"] == [f"/vip/orders/{order.reference}/"]
    assert stripe_gateway.deliveries == [(200, "credited: ok\n")]
    payment = Payment.objects.get(order=order)
    assert payment.amount == Decimal("30.00") and payment.currency == "CNY" and payment.kind == "payment"
    assert payment.gateway_payment == stripe_gateway.sessions[order.gateway_session]["payment_intent"]
    membership = Membership.objects.get(user=reader)
    assert timedelta(days=29, hours=23) < membership.until - timezone.now() <= timedelta(days=30)
    assert outcomes() == ["credited"]


def test_the_same_notice_again_is_a_replay_and_credits_nothing(card_order, stripe_gateway, reader, caplog):
    order, _ = card_order
    event = stripe_gateway.completed_event(order.gateway_session)
    assert stripe_gateway.post(event)[0] == 200
    with caplog.at_level(logging.WARNING, logger="payments.services"):
        status, body = stripe_gateway.post(event)  # freshly signed, within the window: same event id
    assert status == 400 and body.startswith("replayed")
    assert "received before" in caplog.text
    assert Payment.objects.filter(order=order).count() == 1 and membership_days(reader) == 30
    assert outcomes() == ["credited", "replayed"]


def test_a_notice_older_than_the_tolerance_is_refused(card_order, stripe_gateway, reader, caplog):
    order, _ = card_order
    with caplog.at_level(logging.WARNING, logger="payments.services"):
        status, body = stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session),
                                           timestamp=int(time.time()) - 301)
    assert status == 400 and "older than the tolerance" in body
    assert "replayed" in caplog.text
    assert not Payment.objects.exists() and not Membership.objects.exists()
    assert outcomes() == ["replayed"]


@pytest.mark.parametrize("forgery", ["wrong secret", "altered body", "no header"])
def test_a_bad_signature_is_refused(card_order, stripe_gateway, forgery, caplog):
    order, _ = card_order
    event = stripe_gateway.completed_event(order.gateway_session)
    body = json.dumps(event).encode()
    with caplog.at_level(logging.WARNING, logger="payments.services"):
        if forgery == "wrong secret":
            status, text = stripe_gateway.post(event, secret="whsec_someone_else")
        elif forgery == "altered body":
            genuine = stripe_gateway.completed_event(order.gateway_session, amount_total=1)
            from tests.payments.fake_stripe import stripe_signature  # noqa: PLC0415

            status, text = stripe_gateway.post(event, body=body, signature=stripe_signature(
                secret=stripe_gateway.webhook_secret, body=json.dumps(genuine).encode(), timestamp=int(time.time())))
        else:
            status, text = stripe_gateway.post(event, signature=" ")
    assert status == 400 and text.startswith("bad_signature")
    assert "bad_signature" in caplog.text
    assert not Payment.objects.exists() and not Membership.objects.exists()
    assert outcomes() == ["bad_signature"]


def test_a_notice_for_an_unknown_order_is_refused(card_order, stripe_gateway, caplog):
    order, _ = card_order
    with caplog.at_level(logging.WARNING, logger="payments.services"):
        status, body = stripe_gateway.post(stripe_gateway.completed_event(
            order.gateway_session, client_reference_id="VIP20260101-NOSUCH"))
    assert status == 200 and body.startswith("unknown_order")  # recorded; Stripe need not retry it
    assert "VIP20260101-NOSUCH" in caplog.text
    assert not Payment.objects.exists() and not Membership.objects.exists()
    assert outcomes() == ["unknown_order"]


@pytest.mark.parametrize("change", [{"amount_total": 300}, {"amount_total": 3001}, {"currency": "usd"}])
def test_a_notice_for_the_wrong_amount_or_currency_is_refused(card_order, stripe_gateway, change, caplog):
    order, _ = card_order
    with caplog.at_level(logging.WARNING, logger="payments.services"):
        status, body = stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session, **change))
    assert status == 200 and body.startswith("wrong_amount")
    assert "is for 30.00 CNY" in caplog.text and "nothing was credited" in caplog.text
    assert not Payment.objects.exists() and not Membership.objects.exists()
    notice = PaymentNotice.objects.get()
    assert notice.outcome == "wrong_amount" and notice.order_id == order.id
    # The genuine notice still credits afterwards.
    assert stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))[0] == 200
    assert Payment.objects.filter(order=order).count() == 1


def test_a_second_genuine_event_for_a_paid_order_credits_nothing(card_order, stripe_gateway, reader):
    order, _ = card_order
    assert stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))[0] == 200
    status, body = stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))  # a new event id
    assert status == 200 and body.startswith("already_paid")
    assert Payment.objects.filter(order=order).count() == 1 and membership_days(reader) == 30


def test_a_refund_notice_writes_a_reversing_payment_and_takes_the_days_back(card_order, stripe_gateway, reader):
    order, _ = card_order
    stripe_gateway.post(stripe_gateway.completed_event(order.gateway_session))
    until_paid = Membership.objects.get(user=reader).until
    refund = stripe_gateway.refund_event(order.gateway_session)
    assert stripe_gateway.post(refund) == (200, "refunded: ok\n")
    rows = list(Payment.objects.filter(order=order).order_by("id").values_list("kind", "amount"))
    assert rows == [("payment", Decimal("30.00")), ("refund", Decimal("-30.00"))]
    assert sum(amount for _, amount in rows) == 0
    membership = Membership.objects.get(user=reader)
    assert membership.until == until_paid - timedelta(days=30) and membership.until <= timezone.now()
    assert membership_days(reader) == 0
    assert stripe_gateway.post(refund)[0] == 400  # the same refund notice again: a replay
    assert Payment.objects.filter(order=order).count() == 2


def test_an_event_type_we_do_not_use_is_recorded_and_ignored(site, stripe_gateway):
    status, body = stripe_gateway.post(stripe_gateway.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert status == 200 and body.startswith("ignored")
    assert not Payment.objects.exists()


def test_without_a_webhook_secret_the_endpoint_says_what_to_set(site, stripe_gateway, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    status, body = stripe_gateway.post(stripe_gateway.event("customer.created", {"id": "cus_1"}))
    assert status == 503 and "set STRIPE_WEBHOOK_SECRET" in body
    assert not PaymentNotice.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("same_event", [True, False], ids=["one-event-many-times", "many-events"])
def test_concurrent_notices_pay_the_order_exactly_once(require_postgres, card_order, stripe_gateway, reader,
                                                       same_event):
    """Eight notices for one order at once, on PostgreSQL (row locks): one payment, 30 days, one credit."""
    order, _ = card_order
    shared = stripe_gateway.completed_event(order.gateway_session)
    events = [shared if same_event else stripe_gateway.completed_event(order.gateway_session) for _ in range(8)]
    connection.close()  # the test's own connection must not hold anything the server's threads need
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(stripe_gateway.post, events))
    assert Payment.objects.filter(order=order).count() == 1
    assert membership_days(reader) == 30
    found = outcomes()
    assert found.count("credited") == 1 and len(found) == 8
    assert set(found) - {"credited"} == ({"replayed"} if same_event else {"already_paid"})
    assert [status for status, _ in results].count(200) == (1 if same_event else 8)


def test_when_the_gateway_refuses_the_checkout_the_reader_is_told_what_to_do(site, stripe_gateway, reader, plan,
                                                                             settings, client, caplog):
    settings.STRIPE_SECRET_KEY = "sk_test_revoked"  # the gateway answers 401
    client.force_login(reader)
    with caplog.at_level(logging.ERROR, logger="payments.services"):
        response = client.post(reverse("payments:subscribe", args=[plan.id]), {"provider": "stripe"})
    assert response.status_code == 400
    assert "银行卡支付服务没有响应。请过几分钟再试，或改用银行转账。" in response.content.decode()
    assert "failed at stripe" in caplog.text
    assert not Payment.objects.exists()


@pytest.mark.parametrize("body", [b"\x00" * 100, b'{"id": "evt_\x00", "type": "checkout.session.completed"}'])
def test_a_forged_notice_with_nul_bytes_is_recorded_and_refused(site, stripe_gateway, client, body):
    """Found by tests/site/test_hostile_requests.py: a body with a NUL byte could not be stored in
    PostgreSQL, so the notice was lost and the gateway got a 500. It is recorded, the NUL shown as U+FFFD."""
    response = client.generic("POST", reverse("payments:stripe_webhook"), body, content_type="application/json",
                              headers={"stripe-signature": "t=1,v1=\x00forged"})
    assert response.status_code == 400 and response.content.startswith(b"bad_signature")
    notice = PaymentNotice.objects.get()
    assert notice.outcome == "bad_signature" and "\x00" not in notice.body + notice.signature_header
    assert notice.body == body.decode().replace("\x00", "\ufffd")
    assert not Payment.objects.exists()
