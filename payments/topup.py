"""Advertisers' online top-ups: the seam where payments meet the portal's ledger. NOT WIRED YET.

The enterprise portal (ads/: advertisers, campaigns, the append-only advertiser ledger) is being built
elsewhere and is not merged. When it is, `advertiser_topup_credit` writes the advertiser's top-up
ledger entry (and `advertiser_topup_reverse` its reversing entry for a refund), in the same
transaction as the Payment row that payments.services writes, and `topup_ledger_available` returns
True. Until then a top-up order cannot be created, so no money can arrive that no ledger records.
"""
from payments.models import Payment, PaymentOrder


def topup_ledger_available() -> bool:
    """Whether advertisers' ledger entries can be written: False until the portal's ledger is merged."""
    return False


def advertiser_topup_credit(*, order: PaymentOrder, payment: Payment) -> None:
    """Credits the advertiser's balance with a paid top-up: the ledger's top-up entry, idempotent by
    payment id. Called inside the payment's transaction; an exception here undoes the payment."""
    raise NotImplementedError(
        "Advertiser top-ups are not wired to the ledger yet: the enterprise portal's ads.LedgerEntry is not merged."
    )


def advertiser_topup_reverse(*, order: PaymentOrder, refund: Payment) -> None:
    """Debits the advertiser's balance by a refunded top-up: the ledger's reversing entry."""
    raise NotImplementedError(
        "Advertiser top-ups are not wired to the ledger yet: the enterprise portal's ads.LedgerEntry is not merged."
    )
