"""Keeping the search index in step with the library: mark dirty, index after commit, sweep, rebuild.

- `article_mark_dirty(article_id)`: call after anything the index holds changed (enrichment calls it
  when it finishes); the article is indexed on the `index` queue after the transaction commits.
- Moderation (approve, reject, archive) queues `index_article` itself, from contentlib.services.
- `index_sweep()` (periodic, on Celery beat) indexes whatever a lost task or a crash left behind:
  dirty rows, articles changed since they were indexed, articles never indexed, deleted articles.
- `index_rebuild()` re-creates the whole index from the database (`manage.py reindex`).

Reject and archive take effect for readers at once, whatever the index says: retrieval checks every
hit against the database before returning it (`recommender.retrieval`).
"""
import logging
from collections.abc import Callable, Iterable, Iterator

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from contentlib.models import Article
from contentlib.tasks_queue import INDEX_ARTICLE, queue_on_commit
from recommender.models import IndexState
from recommender.search import search_backend
from recommender.search.base import BulkResult, IndexDocument
from recommender.search.documents import article_document, document_fingerprint

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def article_mark_dirty(article_id: int) -> None:
    """Records that the article's index entry is stale and queues its indexing after commit."""
    now = timezone.now()
    IndexState.objects.update_or_create(article_id=article_id, defaults={"dirty": True, "marked_at": now})
    queue_on_commit(INDEX_ARTICLE, article_id)


def _indexable(doc: IndexDocument) -> bool:
    # An article that enrichment has not reached yet has nothing to search on.
    return bool(doc.tokens.strip()) or doc.vector is not None


def articles_index(article_ids: Iterable[int], *, force: bool = False) -> dict[str, int]:
    """Brings the index entries of these articles up to date; returns counts by outcome.

    Idempotent: an entry whose fingerprint matches what was indexed is not written again (unless
    `force`), so a repeated or late task costs one read.
    """
    ids = sorted({int(i) for i in article_ids})
    counts = {"indexed": 0, "unchanged": 0, "removed": 0, "skipped": 0}
    if not ids:
        return counts
    started = timezone.now()
    articles = {a.id: a for a in Article.objects.select_related("category").filter(id__in=ids)}
    states = {s.article_id: s for s in IndexState.objects.filter(article_id__in=ids)}
    upserts: list[IndexDocument] = []
    removals: list[int] = []
    fingerprints: dict[int, str] = {}
    for article_id in ids:
        article = articles.get(article_id)
        doc = article_document(article) if article is not None else None
        state = states.get(article_id)
        if doc is None or not _indexable(doc):
            if state is not None and state.in_index:
                removals.append(article_id)
            continue
        fingerprints[article_id] = document_fingerprint(doc)
        if not force and state is not None and state.in_index and state.fingerprint == fingerprints[article_id]:
            counts["unchanged"] += 1
        else:
            upserts.append(doc)
    backend = search_backend()
    if upserts:
        result = backend.upsert(upserts)
        if result.errors:
            logger.warning("index: %d of %d documents failed: %s", len(result.errors), len(upserts), result.errors[:3])
    if removals:
        backend.delete(removals)
    counts["indexed"] += len(upserts)
    counts["removed"] += len(removals)
    counts["skipped"] = len(ids) - counts["indexed"] - counts["unchanged"] - counts["removed"]
    _states_record(ids, articles, fingerprints, started)
    return counts


def _states_record(ids: Iterable[int], present, fingerprints: dict[int, str], started) -> None:
    """Records what the index now holds for `ids`: no row for an id not in `present` (deleted, or no
    longer indexable after a rebuild), else the fingerprint indexed (none, and not in the index, for
    an article skipped). A mark made while this run was reading the article stays dirty: its task is
    queued. In batches, so that 100,000 articles are a few hundred statements, not one per article."""
    now = timezone.now()
    ids = list(ids)
    gone = [i for i in ids if i not in present]
    kept = [i for i in ids if i in present]
    with transaction.atomic():
        for chunk in _chunks(gone):
            IndexState.objects.filter(article_id__in=chunk).delete()
        states: dict[int, IndexState] = {}
        for chunk in _chunks(kept):
            states.update(IndexState.objects.in_bulk(chunk))
        for state in states.values():
            state.indexed_at, state.error = now, ""
            state.fingerprint = fingerprints.get(state.article_id, "")
            state.in_index = state.article_id in fingerprints
        IndexState.objects.bulk_update(list(states.values()), ["indexed_at", "error", "fingerprint", "in_index"],
                                       batch_size=1000)
        IndexState.objects.bulk_create(
            [IndexState(article_id=i, dirty=False, marked_at=started, indexed_at=now, error="",
                        fingerprint=fingerprints.get(i, ""), in_index=i in fingerprints)
             for i in kept if i not in states],
            batch_size=1000,
        )
        for chunk in _chunks(list(states)):
            IndexState.objects.filter(article_id__in=chunk).filter(
                Q(marked_at__isnull=True) | Q(marked_at__lte=started)
            ).update(dirty=False)


def _chunks(ids: list[int], size: int = 1000) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def sweep_candidates() -> Iterator[int]:
    """Ids whose index entry may be wrong: dirty, never indexed, changed since, or deleted."""
    indexed_at = IndexState.objects.filter(article_id=OuterRef("id")).values("indexed_at")[:1]
    stale = (
        Article.objects.annotate(last_indexed=Subquery(indexed_at))
        .filter(Q(last_indexed__isnull=True) | Q(updated_at__gt=F("last_indexed")))
        .exclude(tokens="", embedding__isnull=True)
        .values_list("id", flat=True)
    )
    dirty = IndexState.objects.filter(dirty=True).values_list("article_id", flat=True)
    deleted = IndexState.objects.exclude(article_id__in=Article.objects.values("id")).values_list("article_id", flat=True)
    seen: set[int] = set()
    for query in (stale, dirty, deleted):
        for article_id in query.iterator(chunk_size=2000):
            if article_id not in seen:
                seen.add(article_id)
                yield article_id


def _batched(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for article_id in ids:
        batch.append(article_id)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def index_sweep(*, batch_size: int = BATCH_SIZE, progress: Callable[[int], None] = lambda _: None) -> dict[str, int]:
    """Indexes everything the sweep finds; returns counts by outcome."""
    totals = {"indexed": 0, "unchanged": 0, "removed": 0, "skipped": 0}
    for batch in _batched(list(sweep_candidates()), batch_size):
        for outcome, count in articles_index(batch).items():
            totals[outcome] += count
        progress(len(batch))
    return totals


def index_rebuild(*, batch_size: int = BATCH_SIZE, progress: Callable[[int], None] = lambda _: None,
                  total: Callable[[int], None] = lambda _: None) -> BulkResult:
    """Re-creates the index from every enriched article with no downtime; returns what was written.

    Elasticsearch builds a new index version and swaps the alias when it is complete; the embedded
    engine writes a new version (a new embedding dimension included) and moves its live tag to it.
    """
    articles = (
        Article.objects.select_related("category").exclude(tokens="", embedding__isnull=True).order_by("id")
    )
    total(articles.count())
    started = timezone.now()

    def batches() -> Iterator[list[IndexDocument]]:
        batch: list[IndexDocument] = []
        for article in articles.iterator(chunk_size=batch_size):
            doc = article_document(article)
            if _indexable(doc):
                batch.append(doc)
            if len(batch) >= batch_size:
                yield batch
                progress(len(batch))
                batch = []
        if batch:
            yield batch
            progress(len(batch))

    fingerprints: dict[int, str] = {}

    def recorded(stream):
        for batch in stream:
            for doc in batch:
                fingerprints[doc.id] = document_fingerprint(doc)
            yield batch

    result = search_backend().rebuild(recorded(batches()))
    # Every row the library had, and every article now indexed; the rest of the library is not indexable.
    _states_record(set(IndexState.objects.values_list("article_id", flat=True)) | fingerprints.keys(),
                   fingerprints, fingerprints, started)
    return result
