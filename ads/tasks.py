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


@shared_task(name="ads.tasks.rollups_recent")
def rollups_recent() -> int:
    """Recomputes today's and yesterday's daily rollups from the raw events (idempotent)."""
    from ads import rollups  # noqa: PLC0415

    return rollups.rollups_recent()


@shared_task(name="ads.tasks.rollups_recompute")
def rollups_recompute(day: str) -> int:
    """Recomputes one ad day's rollups (ISO date); a frozen day is logged and left as it is."""
    import datetime as dt  # noqa: PLC0415

    from ads import rollups  # noqa: PLC0415
    from contentlib.errors import ApplicationError  # noqa: PLC0415

    try:
        return rollups.rollups_recompute(day=dt.date.fromisoformat(day))
    except ApplicationError as error:
        import logging  # noqa: PLC0415

        logging.getLogger(__name__).info("%s", error.message)
        return 0


@shared_task(name="ads.tasks.export_run", acks_late=True)
def export_run(job_id: int) -> int:
    """Builds one queued export (ads.exports.ExportJob); a missing job is logged and ignored."""
    from ads import exports  # noqa: PLC0415

    job = exports.export_job_run(job_id=job_id)
    if job is None:
        import logging  # noqa: PLC0415

        logging.getLogger(__name__).warning("export job %s does not exist; nothing built", job_id)
        return 0
    return job.rows_done


@shared_task(name="ads.tasks.raw_events_retention")
def raw_events_retention() -> dict:
    """Archives and deletes raw impressions and clicks past RAW_EVENT_RETENTION_DAYS (nightly)."""
    from ads import exports  # noqa: PLC0415

    done = exports.raw_events_retention()
    return {key: (str(value) if key == "before" else value) for key, value in done.items()}
