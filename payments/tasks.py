from celery import shared_task
from django.conf import settings

from contentlib import services


@shared_task
def membership_reminders() -> int:
    """Emails members whose membership ends within MEMBERSHIP_REMINDER_DAYS, once per end date."""
    return services.membership_reminders_send(days_before=settings.MEMBERSHIP_REMINDER_DAYS)
