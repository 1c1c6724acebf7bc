"""Plans, payment orders, payments and the gateway notices that arrive for them.

Orders, payments and notices are append-only: nothing here is edited or deleted once written. An
order's state is read from its payments (a payment row, later perhaps a refund row reversing it).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Plan(models.Model):
    """A VIP plan readers can buy: a price in CNY for a period of days."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100, help_text=_("Shown to readers, in Chinese."))
    name_en = models.CharField(_("English name"), max_length=100, help_text=_("Shown to readers who read English."))
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", editable=False)
    period_days = models.PositiveIntegerField(_("period (days)"))
    active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["price", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="plan_price_positive"),
            models.CheckConstraint(condition=Q(period_days__gt=0), name="plan_period_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price} {self.currency} / {self.period_days}d)"


class PaymentOrder(models.Model):
    """What someone asked to pay for, and how much: a reader's plan or an advertiser's top-up.

    The amount is fixed when the order is made (a later price change does not touch it); a notice or a
    confirmation for any other amount or currency is refused.
    """

    class Purpose(models.TextChoices):
        READER_PLAN = "reader_plan", _("Reader's VIP plan")
        ADVERTISER_TOPUP = "advertiser_topup", _("Advertiser's top-up")

    class Provider(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        STRIPE = "stripe", _("Card (Stripe)")

    reference = models.CharField(
        _("reference number"), max_length=32, unique=True,
        help_text=_("Quoted by the payer on a bank transfer; the gateway's client reference."),
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("payer"), on_delete=models.PROTECT, related_name="payment_orders",
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
    )
    advertiser = models.ForeignKey(
        "ads.Advertiser", verbose_name=_("advertiser"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="payment_orders",
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    gateway_session = models.CharField(
        _("gateway session"), max_length=255, null=True, blank=True, unique=True,
        help_text=_("The gateway's checkout session id, for card payments."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("confirm_bank_transfer", _("Can confirm that a bank transfer arrived")),
            ("refund_payment", _("Can refund a payment")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=(Q(purpose="reader_plan", plan__isnull=False, advertiser__isnull=True)
                           | Q(purpose="advertiser_topup", plan__isnull=True, advertiser__isnull=False)),
                name="order_purpose_matches_target",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class Payment(models.Model):
    """Money received for an order, or a refund of it (a reversing row with a negative amount)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")

    order = models.ForeignKey(PaymentOrder, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2,
                                 help_text=_("Negative for a refund."))
    currency = models.CharField(_("currency"), max_length=3)
    provider = models.CharField(_("provider"), max_length=20, choices=PaymentOrder.Provider.choices)
    gateway_payment = models.CharField(
        _("gateway payment"), max_length=255, blank=True,
        help_text=_("The gateway's payment id (Stripe: the payment intent)."),
    )
    gateway_event = models.CharField(
        _("gateway event"), max_length=255, null=True, blank=True, unique=True,
        help_text=_("The notice that recorded it; a notice is never counted twice."),
    )
    reverses = models.OneToOneField(
        "self", verbose_name=_("reverses"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("The staff member who confirmed a bank transfer or recorded a refund."),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database's own guarantee that an order is paid exactly once, whatever races above it.
            models.UniqueConstraint(fields=["order"], condition=Q(kind="payment"), name="payment_once_per_order"),
            models.CheckConstraint(
                condition=Q(kind="payment", amount__gt=0, reverses__isnull=True)
                | Q(kind="refund", amount__lt=0, reverses__isnull=False),
                name="payment_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.order.reference})"


class PaymentNotice(models.Model):
    """Every notice a gateway posted to us, accepted or refused, with why: the audit trail of the webhook."""

    class Outcome(models.TextChoices):
        CREDITED = "credited", _("Credited")
        REFUNDED = "refunded", _("Refund recorded")
        ALREADY_PAID = "already_paid", _("Already paid: nothing credited")
        IGNORED = "ignored", _("Event type not used")
        BAD_SIGNATURE = "bad_signature", _("Refused: bad signature")
        REPLAYED = "replayed", _("Refused: replayed notice")
        UNKNOWN_ORDER = "unknown_order", _("Refused: unknown order")
        WRONG_AMOUNT = "wrong_amount", _("Refused: wrong amount or currency")
        MALFORMED = "malformed", _("Refused: unreadable notice")

    provider = models.CharField(_("provider"), max_length=20, choices=PaymentOrder.Provider.choices)
    event_id = models.CharField(_("event id"), max_length=255, blank=True, db_index=True)
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    detail = models.TextField(_("detail"), blank=True)
    order = models.ForeignKey(
        PaymentOrder, verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT, related_name="notices",
    )
    signature_header = models.TextField(_("signature header"), blank=True)
    body = models.TextField(_("body"), blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("payment notice")
        verbose_name_plural = _("payment notices")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} {self.get_outcome_display()}"
