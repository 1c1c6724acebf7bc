from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from payments.selectors import members_and_revenue_by_plan_month


class Command(BaseCommand):
    help = "Print VIP members and subscription revenue (CNY) by plan and month."

    def handle(self, *args, **options):
        # A command is run by an operator with shell access: report as a superuser would see it.
        operator = get_user_model()(is_active=True, is_staff=True, is_superuser=True)
        rows = members_and_revenue_by_plan_month(user=operator)
        self.stdout.write(f"{'month':<8} {'plan':<16} {'members':>7} {'orders':>6} {'revenue':>12} "
                          f"{'refunds':>12} {'net':>12}")
        for row in rows:
            self.stdout.write(f"{row.month:<8} {row.plan:<16} {row.members:>7} {row.paid_orders:>6} "
                              f"{row.revenue:>12} {row.refunds:>12} {row.net:>12}")
        if not rows:
            self.stdout.write("No memberships or payments yet.")
