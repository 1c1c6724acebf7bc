"""Bank transfer: the payer transfers the amount quoting the order's reference number; staff see it
arrive on the account and confirm the order in admin (payments.services.bank_transfer_confirm)."""
from payments.models import PaymentOrder
from payments.providers import Checkout


class BankTransferProvider:
    name = PaymentOrder.Provider.BANK_TRANSFER

    def checkout_start(self, order: PaymentOrder, *, success_url: str, cancel_url: str) -> Checkout:
        return Checkout(redirect_url=None)  # our order page shows the account and the reference number
