"""Writes for crawling: runs and their lock, each page's outcome, deduplicated saving, the MinHash index."""
import datetime as dt
import logging
import os
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from contentlib import services as library
from contentlib.errors import ApplicationError
from contentlib.models import Article, Source
from contentlib.text import content_hash
from contentlib import dedup
from contentlib.models import MinHashSignature
from crawlers import selectors
from crawlers.extraction import ExtractedPage
from crawlers.models import CrawlPage, CrawlRun

logger = logging.getLogger(__name__)
Outcome = CrawlPage.Outcome


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


@dataclass
class CrawledPage:
    """One fetched page for `crawl_pages_save`: its extracted content, or the outcome already decided."""
    url: str
    fetched_at: dt.datetime
    canonical_url: str = ""
    page: ExtractedPage | None = None
    signature: bytes | None = None  # the MinHash of page.text, when the extraction step computed it
    decided: PageResult | None = None
    http_status: int | None = None
    redirected_from: str = ""
    redirect_chain: list[str] = field(default_factory=list)
    in_sitemap: bool = False  # a sitemap of the site lists the page: see contentlib.dedup.original_preference


class _Refused(Exception):
    def __init__(self, reasons: dict[int, str]):
        super().__init__(reasons)
        self.reasons = reasons


def crawl_pages_save(*, run_id: int, source: Source, pages: list[CrawledPage]) -> list[PageResult]:
    """Saves the undecided pages unless they repeat the library, and records every page's outcome.

    All in one transaction, under the near-duplicate lock, so two concurrent crawls cannot both take
    the same text for an original. Pages are judged in order, each seeing the library as the pages
    before it left it, exactly as if they were saved one at a time:
    a page whose canonical URL this run already handled is a duplicate; a page whose content hash
    another article has is a duplicate (not stored); a page whose MinHash is close to an indexed
    article is stored as a near-duplicate of it (`duplicate_of`, never approved); anything else is
    upserted through `contentlib.services.articles_upsert` (one enrichment batch queued after
    commit), and approved by the system when the source is trusted. A page the library refuses is
    recorded as invalid, and the batch is judged again without it, so it costs the others nothing.
    """
    try:
        return _pages_save_atomic(run_id, source, pages)
    except Exception as error:  # noqa: BLE001 - one bad page must not cost its batch-mates their outcome
        if len(pages) == 1:
            raise
        logger.exception("Saving a batch of %d pages failed (%s); saving them one at a time", len(pages), error)
    results = []
    for page in pages:
        try:
            results += _pages_save_atomic(run_id, source, [page])
        except Exception as error:  # noqa: BLE001 - recorded on the page, with the log holding the trace
            logger.exception("Saving %s failed", page.url)
            reason = f"could not be saved ({type(error).__name__}: {error}); the crawl log has the details"[:2000]
            results += _pages_save_atomic(run_id, source, [replace(page, decided=PageResult(Outcome.INVALID, reason))])
    return results


def _pages_save_atomic(run_id: int, source: Source, pages: list[CrawledPage]) -> list[PageResult]:
    refused: dict[int, str] = {}
    while True:
        try:
            with transaction.atomic():
                results = _pages_save(run_id, source, pages, refused)
                CrawlPage.objects.bulk_create(
                    CrawlPage(run_id=run_id, url=page.url[:2000], redirected_from=page.redirected_from[:2000],
                              redirect_chain=[url[:2000] for url in page.redirect_chain], outcome=result.outcome,
                              reason=result.reason, http_status=page.http_status, article_id=result.article_id,
                              in_sitemap=page.in_sitemap)
                    for page, result in zip(pages, results, strict=True)
                )
                return results
        except _Refused as more:  # rolled back: judge the batch again without the refused pages
            refused.update(more.reasons)


_NEW_ORDER = 1 << 62  # new articles sort after every stored one, in page order


@dataclass(eq=False)
class _Row:
    """An article as the batch's judgement sees it; `id` stays None until a new one is inserted."""
    id: int | None
    content_hash: str
    canonical_url: str | None
    url: str
    duplicate_of: "_Row | int | None"
    order: int  # ties go to the oldest article, as ordering by id would
    claim: dedup.Claim = dedup.Claim(None)
    protected: bool = False  # an enterprise's article: never made a duplicate by a crawl


def _article_id(ref: "_Row | int") -> int:
    return ref if isinstance(ref, int) else ref.id


class _LibraryView:
    """What the duplicate checks of a batch read, loaded in a few queries and kept current as each
    page is judged, so that a page sees the batch's earlier pages as already saved."""

    def __init__(self, *, run_id: int, canonical_urls: set[str], digests: set[str], keys: set[int]):
        self.rows: dict[int, _Row] = {}
        self.new_rows = 0
        fields = ("id", "content_hash", "canonical_url", "url", "duplicate_of_id", "published_at", "owner_id", "origin")
        for values in Article.objects.filter(canonical_url__in=canonical_urls).values_list(*fields):
            self._stored(*values)
        self.by_canonical = {row.canonical_url: row for row in self.rows.values()}
        for values in Article.objects.filter(content_hash__in=digests).values_list(*fields):
            self._stored(*values)
        self.stood_for: dict[int, str] = {}  # id(row) -> this run's first page that stood for it, not as a duplicate
        earlier = (CrawlPage.objects.filter(run_id=run_id, article_id__in=[r.id for r in self.by_canonical.values()])
                   .exclude(outcome=Outcome.DUPLICATE).order_by("-id").values_list("article_id", "url"))
        for article_id, url in earlier:
            self.stood_for[id(self.rows[article_id])] = url
        band_rows = dedup.band_members(keys)
        self.signatures: dict[int, object] = {}  # id(row) -> MinHash
        stored = MinHashSignature.objects.filter(article_id__in={a for _, a in band_rows}).values_list(
            "article_id", "hashvalues", *(f"article__{f}" for f in fields[1:]))
        for article_id, data, *values in stored:
            row = self._stored(article_id, *values)
            self.signatures[id(row)] = dedup.minhash_from_bytes(bytes(data), settings.CRAWL_MINHASH_PERMUTATIONS)
        self.bands: dict[int, set[_Row]] = {}
        for key, article_id in band_rows:
            if article_id in self.rows:
                self.bands.setdefault(key, set()).add(self.rows[article_id])
        # The originals the loaded duplicates point at, so that the page can be weighed against them.
        originals = {row.duplicate_of for row in self.rows.values()} - set(self.rows) - {None}
        for values in Article.objects.filter(id__in=originals).values_list(*fields):
            self._stored(*values)
        for row in self.rows.values():
            if row.duplicate_of is not None:
                row.duplicate_of = self.rows.get(row.duplicate_of, row.duplicate_of)
        listed = set(CrawlPage.objects.filter(article_id__in=list(self.rows), in_sitemap=True)
                     .values_list("article_id", flat=True).distinct())
        for row in self.rows.values():
            row.claim = replace(row.claim, in_sitemap=row.id in listed)
        self.by_hash: dict[str, list[_Row]] = {}
        for row in self.rows.values():
            self.by_hash.setdefault(row.content_hash, []).append(row)

    def _stored(self, article_id, digest, canonical_url, url, duplicate_of_id, published_at, owner_id, origin) -> _Row:
        if article_id not in self.rows:
            self.rows[article_id] = _Row(
                article_id, digest, canonical_url, url, duplicate_of_id, article_id,
                dedup.Claim(published_at, alias=dedup.is_alias_url(url)),
                dedup.enterprise_owned(owner_id=owner_id, origin=origin))
        return self.rows[article_id]

    def _sort_key(self, row: _Row):
        # ORDER BY duplicate_of NULLS FIRST, id
        target = row.duplicate_of
        return (target is not None, target if isinstance(target, int) else getattr(target, "order", 0), row.order)

    def same_text(self, digest: str, *, exclude: _Row | None) -> _Row | None:
        rows = [row for row in self.by_hash.get(digest, ()) if row is not exclude]
        return min(rows, key=self._sort_key) if rows else None

    def nearest(self, signature, keys: list[int], *, exclude: _Row | None) -> tuple[_Row, float] | None:
        threshold = settings.CRAWL_NEAR_DUPLICATE_THRESHOLD
        best = None
        for row in {row for key in keys for row in self.bands.get(key, ())} - {exclude}:
            stored = self.signatures.get(id(row))
            if stored is None:
                continue
            similarity = signature.jaccard(stored)
            if similarity >= threshold and (best is None or similarity > best[1] or
                                            (similarity == best[1] and row.order < best[0].order)):
                best = (row, similarity)
        return best

    def new_row(self, page: CrawledPage, digest: str) -> _Row:
        row = _Row(None, digest, page.canonical_url, page.url, None, _NEW_ORDER + self.new_rows, _claim(page))
        self.new_rows += 1
        self.by_canonical[page.canonical_url] = row
        self.by_hash.setdefault(digest, []).append(row)
        return row

    def rehash(self, row: _Row, page: CrawledPage, digest: str) -> None:
        if row in self.by_hash.get(row.content_hash, []):
            self.by_hash[row.content_hash].remove(row)
        row.content_hash, row.url = digest, page.url
        row.claim = _claim(page, in_sitemap=row.claim.in_sitemap)
        self.by_hash.setdefault(digest, []).append(row)

    def index(self, row: _Row, signature, keys: list[int]) -> None:
        for members in self.bands.values():  # a changed article leaves its old bands
            members.discard(row)
        self.signatures[id(row)] = signature
        for key in keys:
            self.bands.setdefault(key, set()).add(row)

    def stand_for(self, row: _Row, url: str) -> None:
        self.stood_for.setdefault(id(row), url)


@dataclass
class _Decided:
    outcome: str
    reason: object  # a callable: the reason can name new articles only once they have ids
    article: "_Row | int | None"


@dataclass
class _Save:
    index: int
    page: CrawledPage
    row: _Row
    signature: object
    keys: list[int]
    near: tuple[_Row, float] | None  # the page is saved as this article's near-duplicate
    supersedes: tuple[_Row, str] | None = None  # the page is the original of this article, and why


def _claim(page: CrawledPage, *, in_sitemap: bool = False) -> dedup.Claim:
    return dedup.Claim(page.page.published_at, in_sitemap=page.in_sitemap or in_sitemap,
                       alias=dedup.is_alias_url(page.url))


def _pages_save(run_id: int, source: Source, pages: list[CrawledPage], refused: dict[int, str]) -> list[PageResult]:
    results: list[PageResult | None] = [
        page.decided if page.decided is not None else
        PageResult(Outcome.INVALID, refused[index]) if index in refused else None
        for index, page in enumerate(pages)
    ]
    todo = [(index, page) for index, page in enumerate(pages) if results[index] is None]
    if not todo:
        return results
    dedup.index_lock()
    digests = [content_hash(page.page.title, page.page.text) for _, page in todo]
    num_perm = settings.CRAWL_MINHASH_PERMUTATIONS
    signatures = [dedup.minhash_from_bytes(page.signature, num_perm) if page.signature else
                  dedup.minhash(page.page.text, page.page.language, num_perm) for _, page in todo]
    keys = [dedup.band_keys(signature, settings.CRAWL_NEAR_DUPLICATE_THRESHOLD) for signature in signatures]
    view = _LibraryView(run_id=run_id, canonical_urls={page.canonical_url for _, page in todo}, digests=set(digests),
                        keys={key for page_keys in keys for key in page_keys})
    plans = [_judge(view, index, page, digest, signature, page_keys)
             for (index, page), digest, signature, page_keys in zip(todo, digests, signatures, keys, strict=True)]

    saves = [plan for plan in plans if isinstance(plan, _Save)]
    with translation.override("en"):  # the crawl's records (CrawlPage.reason) are an operator's log, in English
        upserted = library.articles_upsert(articles=[
            {"title": save.page.page.title, "text": save.page.page.text, "html": save.page.page.html, "url": save.page.url,
             "canonical_url": save.page.canonical_url, "origin": Article.Origin.CRAWLED, "language": save.page.page.language,
             "author": save.page.page.author, "published_at": save.page.page.published_at,
             "fetched_at": save.page.fetched_at, "source_id": source.id, "content_hash": save.row.content_hash,
             "proposed_by": f"crawl of {source.slug}"}
            for save in saves
        ])
    errors = {save.index: result.message for save, result in zip(saves, upserted, strict=True)
              if isinstance(result, ApplicationError)}
    if errors:
        raise _Refused(errors)
    for save, result in zip(saves, upserted, strict=True):
        save.row.id = result.article.id
    published: set[int] = set()  # pages whose change a trusted source publishes at once
    if source.trusted:
        for save, result in zip(saves, upserted, strict=True):
            if result.outcome == "revised" and save.near is None:
                library.article_revision_approve(revision_id=result.revision.id, actor=None,
                                                 reason=f"trusted source {source.slug}")
                published.add(save.index)
    # The near-duplicate index follows the library's own text: a change waiting for review is not
    # the article's text yet (the index catches up at the next crawl once it is approved).
    dedup.index_many([(save.row.id, save.row.content_hash, save.signature, save.keys, result.outcome == "created")
                 for save, result in zip(saves, upserted, strict=True)
                 if result.changed or save.index in published])

    for (index, _), plan in zip(todo, plans, strict=True):
        if isinstance(plan, _Decided):
            article_id = _article_id(plan.article) if plan.article is not None else None
            results[index] = PageResult(plan.outcome, plan.reason(), article_id)
    for save, result in zip(saves, upserted, strict=True):
        if save.supersedes is not None and result.changed:
            copy, why = save.supersedes
            library.article_propose_as_original(article_id=save.row.id, copy_id=copy.id)
            if result.outcome == "created" and source.trusted:
                library.article_approve(article_id=save.row.id, actor=None,
                                        reason=f"trusted source {source.slug}; the original of article #{copy.id}")
                reason = f"the original of article #{copy.id} ({why}), which is now its duplicate"
            else:
                reason = f"the original of article #{copy.id} ({why}): it takes its place once approved"
            results[save.index] = PageResult(Outcome.SAVED if result.outcome == "created" else Outcome.UPDATED,
                                             reason, save.row.id)
            continue
        if save.near is not None and (result.changed or save.index in published):
            original, similarity = save.near
            article = library.article_mark_duplicate(article_id=save.row.id, original_id=original.id)
            results[save.index] = PageResult(Outcome.NEAR_DUPLICATE,
                                             f"{similarity:.0%} similar to article #{article.duplicate_of_id}", article.id)
            continue
        if result.outcome == "created" and source.trusted:
            library.article_approve(article_id=save.row.id, actor=None, reason=f"trusted source {source.slug}")
        if result.outcome == "revised" and save.index not in published:
            results[save.index] = PageResult(
                Outcome.REVISED, f"the published text stays until an editor approves revision #{result.revision.id}",
                save.row.id)
        elif result.outcome == "unchanged" and result.revision is not None:
            results[save.index] = PageResult(
                Outcome.UNCHANGED, f"the same change still waits for review as revision #{result.revision.id}",
                save.row.id)
        elif save.index in published:
            results[save.index] = PageResult(Outcome.UPDATED, f"revision #{result.revision.id} approved: trusted source",
                                             save.row.id)
        else:
            results[save.index] = PageResult(Outcome.SAVED if result.outcome == "created" else Outcome.UPDATED, "",
                                             save.row.id)
    return results


def _judge(view: _LibraryView, index: int, page: CrawledPage, digest: str, signature, keys: list[int]):
    """Decides one page against the library as the batch has left it so far (see crawl_pages_save)."""
    existing = view.by_canonical.get(page.canonical_url)
    earlier = existing is not None and view.stood_for.get(id(existing))
    if earlier:
        return _Decided(Outcome.DUPLICATE, lambda: f"same canonical URL as {earlier}", existing)
    if existing is not None and existing.content_hash == digest:
        view.stand_for(existing, page.url)
        if existing.duplicate_of is not None:
            return _Decided(Outcome.NEAR_DUPLICATE,
                            lambda: f"unchanged; repeats article #{_article_id(existing.duplicate_of)}", existing)
        return _Decided(Outcome.UNCHANGED, lambda: "", existing)
    same = view.same_text(digest, exclude=existing)
    supersedes = None
    if same is not None:
        stored = same.duplicate_of or same
        why = isinstance(stored, _Row) and not stored.protected and dedup.original_preference(_claim(page), stored.claim)
        if why != "the other is a print version":  # the same text says nothing about dates: only an alias yields
            return _Decided(Outcome.DUPLICATE,
                            lambda: f"same text as article #{same.id} ({same.canonical_url or same.url})", stored)
        supersedes = (stored, why)
    near = view.nearest(signature, keys, exclude=existing) if supersedes is None else None
    if existing is not None:
        view.rehash(existing, page, digest)
        row = existing
    else:
        row = view.new_row(page, digest)
    view.index(row, signature, keys)
    if near is not None:
        original = near[0].duplicate_of or near[0]
        why = (isinstance(original, _Row) and not original.protected
               and dedup.original_preference(row.claim, original.claim))
        if why:  # this page is the original: it takes the other's place once it is approved
            supersedes, near = (original, why), None
        else:
            row.duplicate_of = original
    view.stand_for(row, page.url)
    return _Save(index, page, row, signature, keys, near, supersedes)


def minhash_index_backfill(*, batch_size: int = 500) -> int:
    """Indexes every library article not yet in the near-duplicate index; see contentlib.dedup.index_backfill."""
    return dedup.index_backfill(batch_size=batch_size)
