"""Reads for crawling: due sources, near-duplicate candidates, run summaries."""
import datetime as dt

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from contentlib.models import Article, Source
from crawlers import dedup
from crawlers.models import CrawlPage, CrawlRun, MinHashBand, MinHashSignature

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


def crawl_page_of_article(*, run_id: int, article_id: int) -> CrawlPage | None:
    """An earlier page of this run that already stood for the article (same canonical URL)."""
    return (
        CrawlPage.objects.filter(run_id=run_id, article_id=article_id)
        .exclude(outcome=CrawlPage.Outcome.DUPLICATE)
        .order_by("id")
        .first()
    )


def article_same_content(*, content_hash: str, exclude_id: int | None) -> Article | None:
    """The first library article with this content hash (an exact duplicate), preferring originals."""
    articles = Article.objects.filter(content_hash=content_hash)
    if exclude_id is not None:
        articles = articles.exclude(id=exclude_id)
    return articles.order_by(F("duplicate_of").asc(nulls_first=True), "id").first()


def near_duplicate_best(*, signature, exclude_id: int | None) -> tuple[int, float] | None:
    """Returns (article id, estimated Jaccard) of the closest indexed article above the threshold."""
    threshold = settings.CRAWL_NEAR_DUPLICATE_THRESHOLD
    keys = dedup.band_keys(signature, threshold)
    candidates = MinHashBand.objects.filter(key__in=keys)
    if exclude_id is not None:
        candidates = candidates.exclude(article_id=exclude_id)
    candidate_ids = set(candidates.values_list("article_id", flat=True))
    best = None
    stored = MinHashSignature.objects.filter(article_id__in=candidate_ids).values_list("article_id", "hashvalues")
    for article_id, data in stored:
        similarity = signature.jaccard(dedup.minhash_from_bytes(bytes(data), len(signature.hashvalues)))
        if similarity >= threshold and (best is None or similarity > best[1] or
                                        (similarity == best[1] and article_id < best[0])):
            best = (article_id, similarity)
    return best


def articles_missing_minhash() -> QuerySet[Article]:
    """Library articles whose MinHash is absent or was computed from other content."""
    return Article.objects.filter(Q(minhash__isnull=True) | ~Q(minhash__content_hash=F("content_hash"))).only(
        "id", "title", "text", "language", "content_hash"
    )
