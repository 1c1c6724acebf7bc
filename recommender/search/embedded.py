"""The embedded search engine (the default): tantivy for BM25 over the stored tokens, plus the vector
index of `recommender.search.vectors` (HNSW graph + exact scan of recent rows), both in
settings.SEARCH_INDEX_DIR.

One writer at a time: every write takes an exclusive `flock` on `write.lock` in the index directory
(and the `index` Celery queue runs with concurrency 1), so a web process, a worker and `reindex`
can never interleave commits. Readers in any process pick up each commit at their next query: the
vector manifest is replaced atomically after tantivy's commit, and a changed manifest makes the
reader reload tantivy's searcher as well.
"""
import fcntl
import logging
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tantivy

from recommender.search.base import (
    BulkResult,
    Hit,
    IndexDocument,
    SearchBackend,
    SearchFilters,
    clamp_k,
    query_terms,
)
from recommender.search.vectors import VectorRecord, VectorStore

logger = logging.getLogger(__name__)

TOKENS_ANALYZER = "whitespace_lowercase"
SCHEMA_VERSION = "1"
WRITER_HEAP_BYTES = 64_000_000
MLT_MAX_TERMS = 25


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    # BM25 needs term frequencies, not positions: the engine never runs phrase queries.
    builder.add_text_field("tokens", stored=True, tokenizer_name=TOKENS_ANALYZER, index_option="freq")
    builder.add_text_field("title", stored=True, tokenizer_name="raw", index_option="basic")
    for keyword in ("language", "category", "origin", "status"):
        builder.add_text_field(keyword, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("owner", stored=True, indexed=True, fast=True)
    builder.add_boolean_field("published", stored=True, indexed=True, fast=True)
    return builder.build()


def _analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).filter(tantivy.Filter.lowercase()).build()


class EmbeddedBackend(SearchBackend):
    name = "embedded"

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.lexical_dir = self.directory / f"lexical-v{SCHEMA_VERSION}"
        self.lexical_dir.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.lexical_dir), reuse=True)
        self.index.register_tokenizer(TOKENS_ANALYZER, _analyzer())
        self.index.config_reader(reload_policy="manual")
        self.vectors = VectorStore(self.directory / "vectors")
        self._lock_path = self.directory / "write.lock"
        self._thread_lock = threading.Lock()
        self._reader_stamp: object = object()
        self._searcher = None
        self._searcher_lock = threading.Lock()

    # --- reading

    def _current_searcher(self) -> tantivy.Searcher:
        """The searcher of the last commit: reloads tantivy when the shared manifest changed."""
        self.vectors.refresh()
        stamp = self.vectors._stamp
        if self._searcher is None or stamp != self._reader_stamp:
            with self._searcher_lock:
                if self._searcher is None or stamp != self._reader_stamp:
                    self.index.reload()
                    self._searcher = self.index.searcher()
                    self._reader_stamp = stamp
        return self._searcher

    def _filter_clauses(self, filters: SearchFilters) -> list:
        clauses = []

        def term(field, value):
            return tantivy.Query.term_query(self.schema, field, value)

        if filters.published_only:
            clauses.append(term("published", True))
        for field in ("language", "category", "origin"):
            value = getattr(filters, field)
            if value is not None:
                clauses.append(term(field, value))
        if filters.owner_id is not None:
            clauses.append(term("owner", int(filters.owner_id)))
        # Filters decide membership only; a constant score of zero keeps BM25 the whole score.
        return [(tantivy.Occur.Must, tantivy.Query.const_score_query(c, 0.0)) for c in clauses]

    def _run(self, query, k: int) -> list[Hit]:
        searcher = self._current_searcher()
        hits = searcher.search(query, limit=k, count=False).hits
        if not hits:
            return []
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        return [Hit(int(doc_id), float(score)) for (score, _), doc_id in zip(hits, ids, strict=True)]

    def lexical(self, tokens, *, k=10, filters=SearchFilters()) -> list[Hit]:
        terms, k = query_terms(tokens), clamp_k(k)
        if not terms or k == 0:
            return []
        text = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "tokens", t)) for t in terms]
        )
        return self._run(tantivy.Query.boolean_query([(tantivy.Occur.Must, text), *self._filter_clauses(filters)]), k)

    def vector(self, query, *, k=10, filters=SearchFilters()) -> list[Hit]:
        if query is None:
            return []
        return self.vectors.search(np.asarray(query, dtype=np.float32), k=clamp_k(k), filters=filters)

    def fetch(self, ids: Sequence[int]) -> dict[int, IndexDocument]:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return {}
        searcher = self._current_searcher()
        query = tantivy.Query.term_set_query(self.schema, "id", wanted)
        out = {}
        for _, address in searcher.search(query, limit=len(wanted), count=False).hits:
            stored = searcher.doc(address)
            doc = IndexDocument(
                id=stored.get_first("id"), tokens=stored.get_first("tokens") or "",
                title=stored.get_first("title") or "", language=stored.get_first("language") or "",
                category=stored.get_first("category") or "", origin=stored.get_first("origin") or "",
                status=stored.get_first("status") or "", published=bool(stored.get_first("published")),
                owner_id=None if stored.get_first("owner") in (None, -1) else stored.get_first("owner"),
            )
            doc.vector = self.vectors.table.vector_of(doc.id)
            out[doc.id] = doc
        return out

    def more_like_this(self, doc_id: int, *, k=10, filters=SearchFilters()) -> list[Hit]:
        k = clamp_k(k)
        source = self.fetch([doc_id]).get(int(doc_id))
        if source is None or not source.tokens.strip() or k == 0:
            return []
        # Only the tokens field: tantivy's document-address form would also match on status, origin...
        like = tantivy.Query.more_like_this_document_fields_query(
            self.schema, {"tokens": [source.tokens]}, min_doc_frequency=1, min_term_frequency=1,
            max_query_terms=MLT_MAX_TERMS,
        )
        itself = tantivy.Query.term_query(self.schema, "id", int(doc_id))
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, like), (tantivy.Occur.MustNot, itself), *self._filter_clauses(filters)]
        )
        return self._run(query, k)

    def term_stats(self, tokens) -> tuple[int, dict[str, int]]:
        searcher = self._current_searcher()
        return searcher.num_docs, {t: searcher.doc_freq("tokens", t) for t in query_terms(tokens)}

    def ids(self) -> set[int]:
        searcher = self._current_searcher()
        total = searcher.num_docs
        if total == 0:
            return set()
        hits = searcher.search(tantivy.Query.all_query(), limit=total, count=False).hits
        return {int(i) for i in searcher.fast_field_values("id", [a for _, a in hits])}

    # --- writing

    @contextmanager
    def _writer(self):
        """The one writer: a process-wide flock plus a thread lock, held for one batch and commit."""
        with self._thread_lock, open(self._lock_path, "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                writer = self.index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
                try:
                    yield writer
                except BaseException:
                    writer.rollback()
                    raise
                finally:
                    writer.wait_merging_threads()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _tantivy_doc(self, doc: IndexDocument) -> tantivy.Document:
        return tantivy.Document(
            id=int(doc.id), tokens=doc.tokens or "", title=doc.title or "", language=doc.language or "",
            category=doc.category or "", origin=doc.origin or "", status=doc.status or "",
            owner=-1 if doc.owner_id is None else int(doc.owner_id), published=bool(doc.published),
        )

    def upsert(self, docs: Sequence[IndexDocument]) -> BulkResult:
        docs = list({d.id: d for d in docs}.values())
        if not docs:
            return BulkResult()
        # Validate vectors before tantivy is touched, so a bad batch changes nothing.
        records = [VectorRecord.from_document(d) if d.vector is not None else VectorRecord.deletion(d.id) for d in docs]
        self.vectors.refresh()
        self.vectors.validate(records)
        with self._writer() as writer:
            for doc in docs:
                writer.delete_documents_by_term("id", int(doc.id))
                writer.add_document(self._tantivy_doc(doc))
            writer.commit()
            self.vectors.write(records)
        return BulkResult(indexed=len(docs))

    def delete(self, ids: Sequence[int]) -> BulkResult:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return BulkResult()
        with self._writer() as writer:
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)
            writer.commit()
            self.vectors.write([VectorRecord.deletion(i) for i in ids])
        return BulkResult(deleted=len(ids))

    def rebuild(self, batches) -> BulkResult:
        """One writer and one commit for the whole library, so readers switch from the old index to
        the new one at once; stale documents are deleted in the same commit."""
        before = self.ids()
        seen: set[int] = set()
        records: list[VectorRecord] = []
        self.vectors.refresh()
        with self._writer() as writer:
            for batch in batches:
                batch_records = [
                    VectorRecord.from_document(d) if d.vector is not None else VectorRecord.deletion(d.id) for d in batch
                ]
                if self.vectors.table.dim is not None and any(
                    r.vector is not None and len(r.vector) != self.vectors.table.dim for r in batch_records
                ):
                    # A new embedding model: the vectors start over, the lexical side is replaced below.
                    self.vectors.clear()
                self.vectors.validate(records[:1] + batch_records)
                for doc in batch:
                    writer.delete_documents_by_term("id", int(doc.id))
                    writer.add_document(self._tantivy_doc(doc))
                    seen.add(int(doc.id))
                records.extend(batch_records)
            stale = before - seen
            for doc_id in stale:
                writer.delete_documents_by_term("id", doc_id)
            writer.commit()
            self.vectors.write(records + [VectorRecord.deletion(i) for i in stale])
        return BulkResult(indexed=len(seen), deleted=len(stale))

    def clear(self) -> None:
        with self._writer() as writer:
            writer.delete_all_documents()
            writer.commit()
            self.vectors.clear()

    def compact(self) -> None:
        with self._writer():
            self.vectors.compact()
