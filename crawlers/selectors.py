"""Reads for crawling: due sources and run summaries."""
import datetime as dt

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from contentlib.models import Article, Source
from crawlers.models import CrawlPage, CrawlRun

CRAWLABLE_KINDS = (Source.Kind.SITEMAP, Source.Kind.FEED, Source.Kind.SITE)


def source_get_crawlable(*, slug: str) -> Source | None:
    return Source.objects.filter(slug=slug, kind__in=CRAWLABLE_KINDS).first()


def sources_due(*, now: dt.datetime | None = None) -> list[Source]:
    """Active crawlable sources whose interval has passed since their last crawl and that are not running."""
    now = now or timezone.now()
    running = CrawlRun.objects.filter(status=CrawlRun.Status.RUNNING).values("source_id")
    due = []
    candidates = Source.objects.filter(active=True, kind__in=CRAWLABLE_KINDS).exclude(id__in=running)
    for source in candidates:
        if source.last_crawled_at is None or source.last_crawled_at + dt.timedelta(
            minutes=source.crawl_interval_minutes
        ) <= now:
            due.append(source)
    return due


def crawl_run_running(*, source_id: int, now: dt.datetime | None = None) -> CrawlRun | None:
    """The live run of the source, if any; a run older than its time limit plus a margin is stale."""
    now = now or timezone.now()
    runs = CrawlRun.objects.filter(source_id=source_id, status=CrawlRun.Status.RUNNING).select_related("source")
    for run in runs:
        horizon = run.started_at + dt.timedelta(
            seconds=run.source.time_limit_seconds, minutes=settings.CRAWL_STALE_LOCK_MINUTES
        )
        if horizon > now:
            return run
    return None


def crawl_outcome_counts(*, run_id: int) -> dict[str, int]:
    rows = CrawlPage.objects.filter(run_id=run_id).values("outcome").annotate(n=Count("id"))
    return {row["outcome"]: row["n"] for row in rows}
