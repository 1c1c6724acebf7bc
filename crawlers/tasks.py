"""Celery tasks on the `crawl` queue: find due sources, crawl each in its own process."""
import logging
import subprocess

from celery import shared_task
from django.conf import settings

from contentlib.models import Source
from crawlers import runner, selectors

logger = logging.getLogger(__name__)
# Exit status of `manage.py crawl` when another crawl of the source holds the lock, so a scheduler
# can tell a skipped crawl from a failed one.
EXIT_LOCKED = 3


@shared_task(name="crawlers.tasks.crawl_due_sources", ignore_result=True)
def crawl_due_sources() -> int:
    """Queues a crawl of every source whose interval has passed (run by Celery beat)."""
    due = selectors.sources_due()
    for source in due:
        crawl_source.delay(source.id)
    return len(due)


@shared_task(name="crawlers.tasks.crawl_source", ignore_result=True, acks_late=False)
def crawl_source(source_id: int) -> int | None:
    """Runs `manage.py crawl <slug>` as a child process: Scrapy's reactor cannot restart in a worker.

    Not acknowledged late: a crawl killed half-way should wait for its next due time, not restart
    from the beginning on another worker while the lock of the dead run is still fresh.
    """
    source = Source.objects.filter(id=source_id).first()
    if source is None:
        logger.warning("crawl_source: source #%s no longer exists; nothing to do", source_id)
        return None
    timeout = source.time_limit_seconds + settings.CRAWL_STALE_LOCK_MINUTES * 60
    try:
        finished = runner.crawl_subprocess(source.slug, progress=False, capture=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.error("crawl of %s overran its time limit by %s minutes and was stopped",
                     source.slug, settings.CRAWL_STALE_LOCK_MINUTES)
        return None
    if finished.returncode == EXIT_LOCKED:
        logger.info("crawl of %s skipped: another crawl of it is running", source.slug)
    elif finished.returncode != 0:
        logger.error("crawl of %s failed (exit %s): %s", source.slug, finished.returncode, finished.stderr[-2000:])
    else:
        logger.info("crawl of %s finished:\n%s", source.slug, finished.stdout[-2000:])
    return finished.returncode
