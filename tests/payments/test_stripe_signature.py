"""The Stripe-Signature scheme, checked against Stripe's documentation and the official library.

Stripe's documentation (docs.stripe.com/webhooks, "Verify webhook signatures manually") defines the
scheme and shows this example header, but publishes no secret for it, so its v1 value cannot be
recomputed here; what can be checked is that the header is read as documented (timestamp t, v1
signatures used, the v0 "test" scheme ignored), that the HMAC-SHA256 underneath is the standard one
(RFC 4231 test case 2), and that a header made by the documented algorithm is accepted by the official
`stripe` library and one made any other way is not.
"""
import hashlib
import hmac
import json
import time

import pytest
import stripe

from payments.errors import NoticeRefused
from payments.models import PaymentNotice
from payments.providers.stripe_gateway import StripeProvider, from_minor_units, to_minor_units
from tests.payments.fake_stripe import stripe_signature

DOCUMENTED_HEADER = ("t=1492774577,"
                     "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,"
                     "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")
SECRET = "whsec_test_secret"
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "customer.created",
                   "data": {"object": {"id": "cus_1"}}}).encode()


def test_the_documented_example_header_is_read_as_the_documentation_says():
    timestamp, signatures = stripe.WebhookSignature._get_timestamp_and_signatures(DOCUMENTED_HEADER, "v1")
    assert timestamp == 1492774577
    assert signatures == ["5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"]  # v0 not among them


def test_hmac_sha256_is_the_standard_one_rfc_4231_case_2():
    digest = hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest()
    assert digest == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_a_header_signed_by_the_documented_algorithm_is_accepted_by_the_official_library():
    now = int(time.time())
    header = stripe_signature(secret=SECRET, body=BODY, timestamp=now)
    expected = hmac.new(SECRET.encode(), f"{now}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={expected}"
    assert stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=300)


class TestStripeProviderVerifies:
    @pytest.fixture(autouse=True)
    def _secret(self, settings):
        settings.STRIPE_WEBHOOK_SECRET = SECRET
        settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300

    def verify(self, header, body=BODY):
        return StripeProvider().notice_verify(body=body, signature_header=header)

    def test_a_good_signature_gives_the_event(self):
        event = self.verify(stripe_signature(secret=SECRET, body=BODY, timestamp=int(time.time())))
        assert event.event_id == "evt_1" and event.event_type == "other"

    @pytest.mark.parametrize("header", [
        "",
        "garbage",
        DOCUMENTED_HEADER,  # someone else's signature
        "t={now},v1=" + "0" * 64,
        "t={now},v0={good}",  # the right value under the test scheme is not accepted
    ])
    def test_bad_signatures_are_refused(self, header):
        now = int(time.time())
        good = hmac.new(SECRET.encode(), f"{now}.".encode() + BODY, hashlib.sha256).hexdigest()
        with pytest.raises(NoticeRefused) as refused:
            self.verify(header.format(now=now, good=good))
        assert refused.value.outcome == PaymentNotice.Outcome.BAD_SIGNATURE
        assert "STRIPE_WEBHOOK_SECRET" in refused.value.message

    def test_a_changed_body_is_refused(self):
        header = stripe_signature(secret=SECRET, body=BODY, timestamp=int(time.time()))
        with pytest.raises(NoticeRefused) as refused:
            self.verify(header, body=BODY.replace(b"cus_1", b"cus_2"))
        assert refused.value.outcome == PaymentNotice.Outcome.BAD_SIGNATURE

    def test_another_secret_is_refused(self):
        with pytest.raises(NoticeRefused) as refused:
            self.verify(stripe_signature(secret="whsec_other", body=BODY, timestamp=int(time.time())))
        assert refused.value.outcome == PaymentNotice.Outcome.BAD_SIGNATURE

    def test_an_old_notice_is_a_replay(self):
        with pytest.raises(NoticeRefused) as refused:
            self.verify(stripe_signature(secret=SECRET, body=BODY, timestamp=int(time.time()) - 301))
        assert refused.value.outcome == PaymentNotice.Outcome.REPLAYED


def test_amounts_in_stripes_minor_units():
    from decimal import Decimal

    assert to_minor_units(Decimal("30.00"), "CNY") == 3000
    assert from_minor_units(3000, "cny") == Decimal("30.00")
    assert to_minor_units(Decimal("500"), "JPY") == 500
    with pytest.raises(ValueError):
        to_minor_units(Decimal("0.001"), "CNY")
