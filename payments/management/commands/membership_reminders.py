from django.conf import settings
from django.core.management.base import BaseCommand

from contentlib import services


class Command(BaseCommand):
    help = "Email members whose VIP membership ends within MEMBERSHIP_REMINDER_DAYS days (once per end date)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.MEMBERSHIP_REMINDER_DAYS)

    def handle(self, *args, days, **options):
        sent = services.membership_reminders_send(days_before=days)
        self.stdout.write(f"{sent} reminder(s) sent.")
