"""Orders, payments, refunds and gateway notices.

An order is paid exactly once: the payment is written under a row lock on the order
(select_for_update), and the database refuses a second payment row for one order (the partial unique
constraint `payment_once_per_order`) and a second use of one gateway event id, so concurrent notices
cannot both credit. What a payment buys (membership days, an advertiser's ledger entry) is written in
the same transaction.
"""
import logging
import secrets
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contentlib import services as library
from contentlib.errors import ApplicationError
from contentlib.models import MembershipGrant
from payments import topup
from payments.errors import NoticeRefused
from payments.models import Payment, PaymentNotice, PaymentOrder, Plan
from payments.providers import GatewayEvent, provider_get, providers_available

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L: a reference is read aloud over the phone and typed into a bank's transfer note.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _reference_new() -> str:
    day = timezone.localdate().strftime("%Y%m%d")
    return f"VIP{day}-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def order_create_for_plan(*, user, plan_id: int, provider: str) -> PaymentOrder:
    """A reader's order for a plan at today's price, to pay with `provider`."""
    if provider not in providers_available():
        raise ApplicationError(_("This way of paying is not available. Choose bank transfer."))
    plan = Plan.objects.filter(id=plan_id, active=True).first()
    if plan is None:
        raise ApplicationError(_("This plan is no longer on sale. Choose one of the plans on the VIP page."))
    if not user.is_authenticated or not user.is_active:
        raise ApplicationError(_("Sign in to subscribe."))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return PaymentOrder.objects.create(
                    reference=_reference_new(), purpose=PaymentOrder.Purpose.READER_PLAN, provider=provider,
                    user=user, plan=plan, amount=plan.price, currency=plan.currency,
                )
        except IntegrityError:  # the reference was taken: draw another
            continue
    raise ApplicationError(_("We could not create the order. Try again in a moment."))


def _topup_amount(value) -> Decimal:
    from django.conf import settings  # noqa: PLC0415

    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("，", ""))
    except (InvalidOperation, ValueError):
        raise ApplicationError(_("“%(value)s” is not an amount. Enter a number of yuan, such as 500 or 1200.50.")
                               % {"value": value}, {"field": "amount"}) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ApplicationError(_("Enter the amount in yuan with at most two decimals (fen), such as 1200.50."),
                               {"field": "amount"})
    if amount < settings.AD_TOPUP_MIN:
        raise ApplicationError(_("The smallest online top-up is %(minimum)s yuan. Enter %(minimum)s or more.")
                               % {"minimum": settings.AD_TOPUP_MIN}, {"field": "amount"})
    if amount > settings.AD_TOPUP_MAX:
        raise ApplicationError(_("The largest online top-up is %(maximum)s yuan. Enter at most %(maximum)s, or top "
                                 "up in several orders.") % {"maximum": settings.AD_TOPUP_MAX}, {"field": "amount"})
    return amount.quantize(Decimal("0.01"))


def order_create_for_topup(*, user, advertiser_id: int, amount, provider: str) -> PaymentOrder:
    """An advertiser's online top-up of `amount` yuan (AD_TOPUP_MIN to AD_TOPUP_MAX), by its owner only,
    while the advertiser is active. Credited to its ledger when paid (payments.topup)."""
    from ads.models import Advertiser, AdvertiserUser  # noqa: PLC0415

    if not topup.topup_ledger_available():
        raise ApplicationError(_("Online top-up is not open yet. Ask our staff to top up your balance."))
    if not user.is_authenticated or not user.is_active:
        raise ApplicationError(_("Sign in to top up."), {"code": "forbidden"})
    membership = AdvertiserUser.objects.filter(user_id=user.pk, advertiser_id=advertiser_id).first()
    if membership is None:
        raise ApplicationError(_("There is no such advertiser in your account."), {"code": "not_found"})
    if membership.role != AdvertiserUser.Role.OWNER:
        raise ApplicationError(_("Only your account's owner can top up the balance. Ask your owner to do it."),
                               {"code": "forbidden"})
    advertiser = Advertiser.objects.get(id=advertiser_id)
    if advertiser.status != Advertiser.Status.ACTIVE:
        raise ApplicationError(_("Your company's account is %(status)s: it cannot be topped up. Contact our staff.")
                               % {"status": advertiser.get_status_display().lower()}, {"code": "forbidden"})
    if provider not in providers_available():
        raise ApplicationError(_("This way of paying is not available. Choose bank transfer."), {"field": "provider"})
    amount = _topup_amount(amount)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return PaymentOrder.objects.create(
                    reference=_reference_new().replace("VIP", "TOP", 1),
                    purpose=PaymentOrder.Purpose.ADVERTISER_TOPUP, provider=provider, user=user,
                    advertiser_id=advertiser_id, amount=amount, currency=advertiser.currency,
                )
        except IntegrityError:  # the reference was taken: draw another
            continue
    raise ApplicationError(_("We could not create the order. Try again in a moment."))


def order_checkout_start(*, order_id: int, success_url: str, cancel_url: str):
    """Starts paying the order with its provider; remembers the gateway's session id."""
    import stripe  # noqa: PLC0415

    order = PaymentOrder.objects.select_related("plan").get(id=order_id)
    try:
        checkout = provider_get(order.provider).checkout_start(order, success_url=success_url, cancel_url=cancel_url)
    except stripe.StripeError as error:
        logger.error("checkout for order %s failed at %s: %s", order.reference, order.provider, error)
        raise ApplicationError(_("The card payment service did not answer. Try again in a few minutes, or pay by "
                                 "bank transfer.")) from error
    if checkout.gateway_session:
        # The one write to an order after it is made: the session id the gateway gave it, set once.
        PaymentOrder.objects.filter(id=order.id, gateway_session__isnull=True).update(
            gateway_session=checkout.gateway_session)
    return checkout


def order_paid(order: PaymentOrder) -> Payment | None:
    return order.payments.filter(kind=Payment.Kind.PAYMENT).first()


def _fulfil(order: PaymentOrder, payment: Payment) -> None:
    if order.purpose == PaymentOrder.Purpose.READER_PLAN:
        library.membership_extend(
            user_id=order.user_id, days=order.plan.period_days, plan_slug=order.plan.slug,
            source=MembershipGrant.Source.PAYMENT, reference=order.reference,
        )
    else:
        topup.advertiser_topup_credit(order=order, payment=payment)


def order_pay(*, order_id: int, amount: Decimal, currency: str, provider: str, gateway_payment: str = "",
              gateway_event: str | None = None, confirmed_by=None, note: str = "") -> Payment:
    """Records the money received for an order and what it buys, once. Raises NoticeRefused
    (ALREADY_PAID, WRONG_AMOUNT) and credits nothing when the order is paid already or the amount
    or currency differ from the order's."""
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update(of=("self",)).select_related("plan").get(id=order_id)
        if order_paid(order) is not None:
            raise NoticeRefused(PaymentNotice.Outcome.ALREADY_PAID,
                                _("Order %(reference)s is paid already; nothing was credited again.")
                                % {"reference": order.reference}, order=order)
        if provider != order.provider:
            raise NoticeRefused(PaymentNotice.Outcome.WRONG_AMOUNT,
                                f"Order {order.reference} is to be paid by {order.provider}, not {provider}.",
                                order=order)
        if amount != order.amount or (currency or "").upper() != order.currency:
            raise NoticeRefused(
                PaymentNotice.Outcome.WRONG_AMOUNT,
                _("Order %(reference)s is for %(expected)s %(currency)s, but %(amount)s %(got)s was received; "
                  "nothing was credited. Check the transfer, then refund or ask for the difference.")
                % {"reference": order.reference, "expected": order.amount, "currency": order.currency,
                   "amount": amount, "got": (currency or "?").upper()}, order=order)
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    order=order, kind=Payment.Kind.PAYMENT, amount=amount, currency=order.currency,
                    provider=provider, gateway_payment=gateway_payment, gateway_event=gateway_event,
                    confirmed_by=confirmed_by, note=note,
                )
        except IntegrityError as error:  # the database's guard behind the lock
            raise NoticeRefused(PaymentNotice.Outcome.ALREADY_PAID,
                                _("Order %(reference)s is paid already; nothing was credited again.")
                                % {"reference": order.reference}, order=order) from error
        _fulfil(order, payment)
        logger.info("order %s paid: %s %s by %s", order.reference, amount, order.currency, provider)
        return payment


def bank_transfer_confirm(*, order_id: int, amount: Decimal, actor, note: str = "") -> Payment:
    """Staff saw `amount` arrive on the account for this bank-transfer order."""
    if not (actor and actor.is_staff and actor.has_perm("payments.confirm_bank_transfer")):
        raise ApplicationError(_("Only staff with the permission to confirm bank transfers may do this."))
    return order_pay(order_id=order_id, amount=amount, currency="CNY", provider=PaymentOrder.Provider.BANK_TRANSFER,
                     confirmed_by=actor, note=note)


def payment_refund(*, payment_id: int, actor=None, gateway_event: str | None = None, note: str = "") -> Payment:
    """Refunds a payment in full: a reversing payment row, and what it bought taken back (the
    membership's days, the advertiser's ledger entry). A payment is refunded once."""
    with transaction.atomic():
        payment = Payment.objects.select_related("order__plan").get(id=payment_id, kind=Payment.Kind.PAYMENT)
        order = PaymentOrder.objects.select_for_update().get(id=payment.order_id)
        if Payment.objects.filter(reverses=payment).exists():
            raise NoticeRefused(PaymentNotice.Outcome.ALREADY_PAID,
                                _("This payment has been refunded already."), order=order)
        try:
            with transaction.atomic():
                refund = Payment.objects.create(
                    order=order, kind=Payment.Kind.REFUND, amount=-payment.amount, currency=payment.currency,
                    provider=payment.provider, gateway_payment=payment.gateway_payment, gateway_event=gateway_event,
                    reverses=payment, confirmed_by=actor, note=note,
                )
        except IntegrityError as error:
            raise NoticeRefused(PaymentNotice.Outcome.ALREADY_PAID,
                                _("This payment has been refunded already."), order=order) from error
        if order.purpose == PaymentOrder.Purpose.READER_PLAN:
            grant = MembershipGrant.objects.filter(source=MembershipGrant.Source.PAYMENT,
                                                   reference=order.reference).first()
            if grant is not None:
                library.membership_grant_reverse(grant_id=grant.id, note=note or "refund")
        else:
            topup.advertiser_topup_reverse(order=order, refund=refund)
        logger.info("order %s refunded: %s %s", order.reference, refund.amount, refund.currency)
        return refund


def _notice_record(*, provider: str, body: bytes, signature_header: str, outcome: str, detail: str = "",
                   event: GatewayEvent | None = None, order: PaymentOrder | None = None,
                   event_id: str = "", event_type: str = "") -> PaymentNotice:
    def text(value: str) -> str:  # PostgreSQL stores no NUL: shown as U+FFFD, like bytes that are not UTF-8
        return value.replace("\x00", "\ufffd")

    return PaymentNotice.objects.create(
        provider=provider, event_id=text(event.event_id if event else event_id)[:255],
        event_type=text(event.raw_type if event else event_type)[:100], outcome=outcome, detail=text(detail),
        order=order, signature_header=text(signature_header)[:2000],
        body=text(body.decode("utf-8", "replace"))[:100_000],
    )


def gateway_notice_handle(*, provider: str, body: bytes, signature_header: str) -> PaymentNotice:
    """Verifies a gateway's notice and acts on it at most once; every notice is recorded with its
    outcome, refused ones logged as warnings. Returns the notice row."""
    gateway = provider_get(provider)
    event = None
    try:
        event = gateway.notice_verify(body=body, signature_header=signature_header)
        if PaymentNotice.objects.filter(provider=provider, event_id=event.event_id, outcome__in=(
                PaymentNotice.Outcome.CREDITED, PaymentNotice.Outcome.REFUNDED,
                PaymentNotice.Outcome.ALREADY_PAID, PaymentNotice.Outcome.IGNORED)).exists():
            raise NoticeRefused(PaymentNotice.Outcome.REPLAYED,
                                f"Event {event.event_id} was received before; nothing was done again.")
        if event.event_type == "other":
            return _notice_record(provider=provider, body=body, signature_header=signature_header,
                                  outcome=PaymentNotice.Outcome.IGNORED, event=event)
        order = _notice_order(provider, event)
        if event.event_type == "paid":
            order_pay(order_id=order.id, amount=event.amount, currency=event.currency, provider=provider,
                      gateway_payment=event.gateway_payment, gateway_event=event.event_id)
            outcome = PaymentNotice.Outcome.CREDITED
        else:
            payment = order_paid(order)
            if payment is None:
                raise NoticeRefused(PaymentNotice.Outcome.UNKNOWN_ORDER,
                                    f"A refund for order {order.reference}, which was never paid.", order=order)
            if event.amount != payment.amount or event.currency != payment.currency:
                raise NoticeRefused(PaymentNotice.Outcome.WRONG_AMOUNT,
                                    f"Refund of {event.amount} {event.currency} for order {order.reference}, paid "
                                    f"{payment.amount} {payment.currency}: partial refunds are recorded by staff.",
                                    order=order)
            payment_refund(payment_id=payment.id, gateway_event=event.event_id, note=f"{provider} {event.raw_type}")
            outcome = PaymentNotice.Outcome.REFUNDED
        return _notice_record(provider=provider, body=body, signature_header=signature_header, outcome=outcome,
                              event=event, order=order)
    except NoticeRefused as refused:
        if refused.outcome == PaymentNotice.Outcome.ALREADY_PAID and event is not None \
                and Payment.objects.filter(gateway_event=event.event_id).exists():
            # The same event raced another copy of itself, which credited: this copy is the replay.
            refused.outcome = PaymentNotice.Outcome.REPLAYED
        logger.warning("%s notice refused (%s): %s", provider, refused.outcome, refused.message)
        return _notice_record(provider=provider, body=body, signature_header=signature_header,
                              outcome=refused.outcome, detail=refused.message, event=event, order=refused.order,
                              event_id=refused.event_id, event_type=refused.event_type)


def _notice_order(provider: str, event: GatewayEvent) -> PaymentOrder:
    orders = PaymentOrder.objects.filter(provider=provider)
    order = None
    if event.order_reference:
        order = orders.filter(reference=event.order_reference).first()
    if order is None and event.gateway_payment:
        paid = Payment.objects.filter(provider=provider, kind=Payment.Kind.PAYMENT,
                                      gateway_payment=event.gateway_payment).select_related("order").first()
        order = paid.order if paid else None
    if order is None:
        raise NoticeRefused(PaymentNotice.Outcome.UNKNOWN_ORDER,
                            f"No {provider} order has reference {event.order_reference!r} "
                            f"(payment {event.gateway_payment!r}); nothing was credited.")
    if event.amount is None or not event.currency:
        raise NoticeRefused(PaymentNotice.Outcome.WRONG_AMOUNT,
                            f"The notice for order {order.reference} carries no amount or currency.", order=order)
    return order
