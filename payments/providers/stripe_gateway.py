"""Stripe Checkout and its webhook, through the official `stripe` library.

- Checkout: a Checkout Session (mode=payment) for the order's amount in the smallest currency unit
  (CNY: fen), with the order's reference as `client_reference_id` and in `metadata`.
- Webhook: Stripe signs each notice with the endpoint's secret. The `Stripe-Signature` header is
  `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (docs.stripe.com/webhooks, "Verify
  webhook signatures manually"); `stripe.Webhook.construct_event` checks it and refuses a timestamp
  older than the tolerance (STRIPE_WEBHOOK_TOLERANCE_SECONDS, Stripe's default 300 s), which is what
  stops an old notice from being replayed. A repeated event id within the window is refused by
  payments.services.
- Events used: `checkout.session.completed` with `payment_status=paid` (paid), `charge.refunded`
  (a refund, matched to the order by its payment intent). Others are recorded and ignored.

STRIPE_API_BASE points the client elsewhere: the tests' local gateway server speaks this protocol.
"""
from decimal import Decimal

import stripe
from django.conf import settings

from payments.errors import NoticeRefused
from payments.models import PaymentNotice, PaymentOrder
from payments.providers import Checkout, GatewayEvent

# Stripe's zero-decimal currencies are counted in whole units; CNY and USD in hundredths.
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
                "xof", "xpf"}


def to_minor_units(amount: Decimal, currency: str) -> int:
    factor = 1 if currency.lower() in ZERO_DECIMAL else 100
    minor = amount * factor
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} has more decimals than {currency} allows")
    return int(minor)


def from_minor_units(minor: int, currency: str) -> Decimal:
    factor = 1 if currency.lower() in ZERO_DECIMAL else 100
    return (Decimal(minor) / factor).quantize(Decimal("1") if factor == 1 else Decimal("0.01"))


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        max_network_retries=2,
    )


class StripeProvider:
    name = PaymentOrder.Provider.STRIPE

    def checkout_start(self, order: PaymentOrder, *, success_url: str, cancel_url: str) -> Checkout:
        product = order.plan.name if order.plan_id else f"Top-up {order.reference}"
        session = _client().v1.checkout.sessions.create(params={
            "mode": "payment",
            "client_reference_id": order.reference,
            "metadata": {"order_reference": order.reference},
            "success_url": success_url,
            "cancel_url": cancel_url,
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": to_minor_units(order.amount, order.currency),
                    "product_data": {"name": product},
                },
            }],
        }, options={"idempotency_key": f"checkout-{order.reference}"})
        return Checkout(redirect_url=session.url, gateway_session=session.id)

    def notice_verify(self, *, body: bytes, signature_header: str) -> GatewayEvent:
        """The verified event in `body`; raises NoticeRefused for a bad or stale signature."""
        try:
            event = stripe.Webhook.construct_event(
                body, signature_header, settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError as error:
            stale = "tolerance" in str(error)
            raise NoticeRefused(
                PaymentNotice.Outcome.REPLAYED if stale else PaymentNotice.Outcome.BAD_SIGNATURE,
                ("The notice's timestamp is older than the tolerance window: a replay of an old notice. "
                 if stale else "The Stripe-Signature header does not match the body under our webhook secret. ")
                + "Check STRIPE_WEBHOOK_SECRET is this endpoint's signing secret (whsec_…).",
            ) from error
        except ValueError as error:
            raise NoticeRefused(PaymentNotice.Outcome.MALFORMED,
                                f"The body is not a Stripe event ({error}).") from error
        return _event_plain(event.to_dict())


def _event_plain(event: dict) -> GatewayEvent:
    obj = event["data"]["object"]
    currency = (obj.get("currency") or "").upper() or None
    if event["type"] == "checkout.session.completed" and obj.get("payment_status") == "paid":
        reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("order_reference")
        amount = obj.get("amount_total")
        return GatewayEvent(
            event_id=event["id"], event_type="paid", order_reference=reference,
            amount=from_minor_units(amount, currency) if amount is not None and currency else None,
            currency=currency, gateway_payment=obj.get("payment_intent") or "", raw_type=event["type"],
        )
    if event["type"] == "charge.refunded":
        amount = obj.get("amount_refunded")
        return GatewayEvent(
            event_id=event["id"], event_type="refunded",
            order_reference=(obj.get("metadata") or {}).get("order_reference"),
            amount=from_minor_units(amount, currency) if amount is not None and currency else None,
            currency=currency, gateway_payment=obj.get("payment_intent") or "", raw_type=event["type"],
        )
    return GatewayEvent(event_id=event["id"], event_type="other", order_reference=None, amount=None,
                        currency=currency, raw_type=event["type"])
