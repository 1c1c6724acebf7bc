"""Celery tasks of the money half (the billing queue): thin, they call a service."""
from celery import shared_task

from ads import notices


@shared_task(name="ads.tasks.notices_send")
def notices_send() -> int:
    """Emails advertisers about every event not yet noticed (once each)."""
    return notices.notices_send()
