"""The payment provider interface: every way of paying an order goes through one of these.

A provider starts a checkout for an order (`checkout_start`) and, when it is a gateway, turns a posted
notice into a verified `GatewayEvent` (`notice_verify`); payments.services does the rest in the same
way for all of them: checks the order, the amount and the currency, records the payment once.
"""
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings

from payments.models import PaymentOrder


@dataclass(frozen=True)
class Checkout:
    """Where the payer goes next: a gateway's page (`redirect_url`), or our own instructions page."""

    redirect_url: str | None
    gateway_session: str | None = None


@dataclass(frozen=True)
class GatewayEvent:
    """A notice whose signature checked out, in the provider's terms made plain."""

    event_id: str
    event_type: str  # "paid", "refunded" or "other"
    order_reference: str | None
    amount: Decimal | None
    currency: str | None
    gateway_payment: str = ""
    raw_type: str = ""


class PaymentProvider(Protocol):
    name: str

    def checkout_start(self, order: PaymentOrder, *, success_url: str, cancel_url: str) -> Checkout: ...


def provider_get(name: str) -> PaymentProvider:
    from payments.providers.bank_transfer import BankTransferProvider  # noqa: PLC0415
    from payments.providers.stripe_gateway import StripeProvider  # noqa: PLC0415

    providers = {"bank_transfer": BankTransferProvider, "stripe": StripeProvider}
    return providers[name]()


def providers_available() -> list[str]:
    """The providers readers may choose: bank transfer always, cards when Stripe is configured."""
    available = [PaymentOrder.Provider.BANK_TRANSFER]
    if settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET:
        available.append(PaymentOrder.Provider.STRIPE)
    return available
