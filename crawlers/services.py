"""Writes for crawling: runs and their lock, each page's outcome, deduplicated saving, the MinHash index."""
import datetime as dt
import logging
import os
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contentlib import services as library
from contentlib.errors import ApplicationError
from contentlib.models import Article, Source
from contentlib.text import content_hash
from crawlers import dedup, selectors
from crawlers.extraction import ExtractedPage
from crawlers.models import CrawlPage, CrawlRun, MinHashBand, MinHashSignature

logger = logging.getLogger(__name__)
Outcome = CrawlPage.Outcome
# Any fixed 64-bit number: the PostgreSQL advisory lock that serializes "look up, then index" of
# near-duplicates across concurrent crawls. SQLite needs none: its IMMEDIATE transactions already
# admit one writer at a time.
_DEDUP_LOCK_KEY = 0x636F6E74656E74


@dataclass(frozen=True)
class PageResult:
    outcome: str
    reason: str = ""
    article_id: int | None = None


def crawl_run_start(*, source_id: int, pid: int | None = None) -> CrawlRun:
    """Opens a run of the source, refusing while another live run of it holds the lock."""
    with transaction.atomic():
        try:
            source = Source.objects.select_for_update().get(id=source_id)
        except Source.DoesNotExist:
            raise ApplicationError(f"Source #{source_id} does not exist; it may have been deleted.") from None
        running = selectors.crawl_run_running(source_id=source.id)
        if running is not None:
            raise ApplicationError(
                f"{source.slug} is already being crawled by run #{running.id} (started "
                f"{timezone.localtime(running.started_at):%Y-%m-%d %H:%M}, pid {running.pid}). Wait for it to "
                "finish; a run older than its time limit is treated as dead and no longer blocks.",
                {"code": "locked", "run_id": running.id},
            )
        # A run that outlived its horizon died without closing: close it so the record is honest.
        CrawlRun.objects.filter(source=source, status=CrawlRun.Status.RUNNING).update(
            status=CrawlRun.Status.FAILED, finished_at=timezone.now(), error="abandoned: the process never closed it"
        )
        return CrawlRun.objects.create(source=source, pid=pid or os.getpid())


def crawl_run_finish(*, run_id: int, finish_reason: str, error: str = "") -> CrawlRun:
    """Closes the run with its outcome counts and stamps the source's last crawl."""
    with transaction.atomic():
        run = CrawlRun.objects.select_for_update().get(id=run_id)
        run.status = CrawlRun.Status.FAILED if error else CrawlRun.Status.FINISHED
        run.finished_at = timezone.now()
        run.finish_reason = finish_reason[:100]
        run.error = error
        run.counts = selectors.crawl_outcome_counts(run_id=run.id)
        run.save()
        Source.objects.filter(id=run.source_id).update(last_crawled_at=run.started_at)
    return run


def crawl_page_record(*, run_id: int, url: str, result: PageResult, http_status: int | None = None,
                      redirected_from: str = "") -> CrawlPage:
    return CrawlPage.objects.create(
        run_id=run_id, url=url[:2000], redirected_from=redirected_from[:2000], outcome=result.outcome,
        reason=result.reason, http_status=http_status, article_id=result.article_id,
    )


def crawled_page_save(*, run_id: int, source: Source, url: str, canonical_url: str, page: ExtractedPage,
                      fetched_at: dt.datetime) -> PageResult:
    """Saves one extracted page unless it repeats the library, and says what happened.

    In order: a page whose canonical URL this run already handled is a duplicate; a page whose
    content hash another article has is a duplicate (not stored); a page whose MinHash is close to
    an indexed article is stored as a near-duplicate of it (`duplicate_of`, never approved);
    anything else is upserted, and approved by the system when the source is trusted. The lookup
    and the indexing happen in one transaction under a lock, so two concurrent crawls cannot both
    take the same text for an original.
    """
    with transaction.atomic():
        _dedup_lock()
        existing = Article.objects.filter(canonical_url=canonical_url).only("id", "content_hash", "duplicate_of_id").first()
        earlier = existing and selectors.crawl_page_of_article(run_id=run_id, article_id=existing.id)
        if earlier:
            return PageResult(Outcome.DUPLICATE, f"same canonical URL as {earlier.url}", earlier.article_id)
        digest = content_hash(page.title, page.text)
        if existing is not None and existing.content_hash == digest:
            if existing.duplicate_of_id:
                return PageResult(Outcome.NEAR_DUPLICATE, f"unchanged; repeats article #{existing.duplicate_of_id}",
                                  existing.id)
            return PageResult(Outcome.UNCHANGED, "", existing.id)

        same = selectors.article_same_content(content_hash=digest, exclude_id=existing.id if existing else None)
        if same is not None:
            return PageResult(Outcome.DUPLICATE, f"same text as article #{same.id} ({same.canonical_url or same.url})",
                              same.duplicate_of_id or same.id)

        signature = dedup.minhash(page.text, page.language, settings.CRAWL_MINHASH_PERMUTATIONS)
        near = selectors.near_duplicate_best(signature=signature, exclude_id=existing.id if existing else None)
        try:
            saved = library.article_upsert(
                title=page.title, text=page.text, html=page.html, url=url, canonical_url=canonical_url,
                origin=Article.Origin.CRAWLED, language=page.language, author=page.author,
                published_at=page.published_at, fetched_at=fetched_at, source_id=source.id,
            )
        except ApplicationError as error:
            return PageResult(Outcome.INVALID, error.message)
        article = saved.article
        _index(article.id, article.content_hash, signature, new=saved.outcome == "created")
        if near is not None:
            original_id, similarity = near
            article = library.article_mark_duplicate(article_id=article.id, original_id=original_id)
            return PageResult(Outcome.NEAR_DUPLICATE,
                              f"{similarity:.0%} similar to article #{article.duplicate_of_id}", article.id)
        if saved.outcome == "created" and source.trusted:
            library.article_approve(article_id=article.id, actor=None, reason=f"trusted source {source.slug}")
        outcome = Outcome.SAVED if saved.outcome == "created" else Outcome.UPDATED
        return PageResult(outcome, "", article.id)


def minhash_index_backfill(*, batch_size: int = 500) -> int:
    """Indexes every library article not yet in the near-duplicate index (or changed since); returns how many."""
    done = 0
    while True:
        batch = list(selectors.articles_missing_minhash()[:batch_size])
        if not batch:
            return done
        with transaction.atomic():
            _dedup_lock()
            for article in batch:
                language = article.language or ""
                signature = dedup.minhash(article.text, language, settings.CRAWL_MINHASH_PERMUTATIONS)
                _index(article.id, article.content_hash, signature)
        done += len(batch)


def _index(article_id: int, digest: str, signature, *, new: bool = False) -> None:
    values = {"content_hash": digest, "hashvalues": dedup.minhash_to_bytes(signature)}
    if new:  # a row created in this transaction has no index entries yet: skip the look-ups
        MinHashSignature.objects.create(article_id=article_id, **values)
    else:
        MinHashSignature.objects.update_or_create(article_id=article_id, defaults=values)
        MinHashBand.objects.filter(article_id=article_id).delete()
    MinHashBand.objects.bulk_create(
        MinHashBand(article_id=article_id, key=key)
        for key in dedup.band_keys(signature, settings.CRAWL_NEAR_DUPLICATE_THRESHOLD)
    )


def _dedup_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DEDUP_LOCK_KEY])
