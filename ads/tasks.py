"""Celery tasks of the money half (the billing queue): thin, they call a service."""
from celery import shared_task

from ads import billing, notices


@shared_task(name="ads.tasks.notices_send")
def notices_send() -> int:
    """Emails advertisers about every event not yet noticed (once each)."""
    return notices.notices_send()


@shared_task(name="ads.tasks.cpm_flush")
def cpm_flush() -> int:
    """Moves accrued CPM spend into the ledger (idempotent: an impression is charged in one batch only)."""
    return billing.cpm_flush()


@shared_task(name="ads.tasks.daily_budgets_reset")
def daily_budgets_reset() -> int:
    """Runs again the campaigns that were out of their daily budget on an earlier ad day."""
    return billing.daily_budgets_reset()


@shared_task(name="ads.tasks.impressions_flush")
def impressions_flush() -> int:
    """Moves buffered impressions from Redis into the database (at least once, idempotent on the id)."""
    from ads import events  # noqa: PLC0415

    return events.impressions_flush()
