"""Reads for payments: a reader's orders, plans on sale, and members and revenue by plan and month."""
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import TruncMonth

from contentlib.models import MembershipGrant
from payments.models import Payment, PaymentOrder, Plan


def plans_on_sale() -> QuerySet[Plan]:
    return Plan.objects.filter(active=True).order_by("price", "id")


def order_for_payer(*, reference: str, user) -> PaymentOrder | None:
    """The order, if `user` made it (a reader sees only their own orders)."""
    if not user.is_authenticated:
        return None
    return (PaymentOrder.objects.select_related("plan").prefetch_related("payments")
            .filter(reference=reference, user_id=user.pk).first())


def orders_for_payer(*, user) -> QuerySet[PaymentOrder]:
    return PaymentOrder.objects.select_related("plan").prefetch_related("payments").filter(user_id=user.pk)


@dataclass
class PlanMonth:
    month: str  # YYYY-MM in the business time zone
    plan: str
    members: int  # readers whose membership this plan's grants started or extended that month
    paid_orders: int
    revenue: Decimal  # payments received
    refunds: Decimal  # refunded (negative)

    @property
    def net(self) -> Decimal:
        return self.revenue + self.refunds


def members_and_revenue_by_plan_month(*, user) -> list[PlanMonth]:
    """Subscription revenue and members by plan and calendar month (AD_TIME_ZONE), oldest first.

    Revenue counts reader-plan payments in the month they arrived; refunds count in the month they
    were made, as negative amounts. Members counts distinct readers granted days under the plan that
    month, by payment or by staff. For staff with the permission to view payments only.
    """
    if not (user.is_active and user.is_staff and user.has_perm("payments.view_payment")):
        return []
    zone = ZoneInfo(str(settings.AD_TIME_ZONE))
    rows: dict[tuple[str, str], PlanMonth] = {}

    def row(month, plan):
        key = (month.strftime("%Y-%m"), plan)
        if key not in rows:
            rows[key] = PlanMonth(key[0], plan, 0, 0, Decimal("0.00"), Decimal("0.00"))
        return rows[key]

    payments = (Payment.objects.filter(order__purpose=PaymentOrder.Purpose.READER_PLAN)
                .annotate(month=TruncMonth("created_at", tzinfo=zone)).values_list("month", "order__plan__slug",
                                                                                     "kind", "amount"))
    for month, plan, kind, amount in payments:
        entry = row(month, plan)
        if kind == Payment.Kind.PAYMENT:
            entry.paid_orders += 1
            entry.revenue += amount
        else:
            entry.refunds += amount
    members = defaultdict(set)
    grants = (MembershipGrant.objects.exclude(source=MembershipGrant.Source.REVERSAL)
              .annotate(month=TruncMonth("created_at", tzinfo=zone))
              .values_list("month", "plan_slug", "membership__user_id"))
    for month, plan, user_id in grants:
        row(month, plan)
        members[(month.strftime("%Y-%m"), plan)].add(user_id)
    for key, readers in members.items():
        rows[key].members = len(readers)
    return [rows[key] for key in sorted(rows)]
