"""Advertisers' online top-ups: the seam where payments meet the portal's ledger.

A paid top-up order (purpose `advertiser_topup`) is credited to its advertiser by
`advertiser_topup_credit`, a refund of it debited by `advertiser_topup_reverse`: each writes one entry
in the advertiser's append-only ledger (ads.services, advertiser row locked, balance == ledger sum) in
the same transaction as the Payment row that payments.services writes, so money is never recorded
without its ledger entry, nor the reverse. Both are idempotent per payment row. payments imports ads,
never the other way round.
"""
from ads import services as ads_services
from payments.models import Payment, PaymentOrder


def topup_ledger_available() -> bool:
    """Whether advertisers' ledger entries can be written (the portal's ledger is merged: yes)."""
    return True


def advertiser_topup_credit(*, order: PaymentOrder, payment: Payment) -> None:
    """Credits the advertiser's balance with a paid top-up: the ledger's top-up entry, idempotent by
    payment id. Called inside the payment's transaction; an exception here undoes the payment."""
    ads_services.ledger_top_up_online(advertiser_id=order.advertiser_id, amount=payment.amount,
                                      payment_id=payment.id, reference=order.reference)


def advertiser_topup_reverse(*, order: PaymentOrder, refund: Payment) -> None:
    """Debits the advertiser's balance by a refunded top-up: the ledger's reversing refund entry.

    A refund recorded by staff (bank transfer, money not yet sent back) is refused when the advertiser
    has spent part of the top-up; one a gateway reports has already happened and is recorded anyway,
    even when that leaves the balance below zero."""
    ads_services.ledger_top_up_online_reverse(
        advertiser_id=order.advertiser_id, payment_id=refund.reverses_id, refund_id=refund.id,
        reference=order.reference, allow_negative=refund.confirmed_by_id is None)
