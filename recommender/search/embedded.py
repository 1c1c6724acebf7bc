"""The embedded search engine (the default): Lance datasets in settings.SEARCH_INDEX_DIR.

`articles.lance` holds every document (id, tokens, filter fields, vector) with Lance's BM25
full-text index over the tokens (whitespace tokenizer and lowercase only: Chinese arrives as the
tokens enrichment stored) and, from VECTOR_INDEX_MIN_ROWS vectors on, an HNSW vector index over
full-precision vectors (below that an exact scan is as fast).

**One commit, one snapshot.** Lance writes every change as a new immutable version, and a reader that
has a version open keeps reading exactly that version whatever writers do. One commit of ours may
take several Lance versions (the rows, the term statistics, index upkeep), so readers do not follow
the latest version: they read the version that the tag `live` names, and a writer moves that tag
only once everything of its commit is written. Moving the tag is the commit. A query checks out the
tagged version once and runs its lexical side, its vector side and its term statistics on it, and
returns the version number as the snapshot's generation. Every process sees a commit at its next
query, a rebuild with another embedding model included (the model and dimension are recorded in the
version's config, so a reader knows which model its query vector must come from).

**Term statistics.** Lance's BM25 does not expose document frequencies, which retrieval divides
lexical scores by to make them comparable across queries. They are kept in `terms.lance`
(term, df), written by the same commit; the articles' version records which terms version belongs
to it, so a snapshot's statistics always match its documents.

**The in-memory copy.** From MEMORY_INDEX_MIN_ROWS documents on, a process that searches also keeps
the live snapshot in memory (`memory.py`: tantivy and hnswlib), built from Lance in a background
thread and caught up after each commit from the rows it wrote; a query whose version the copy holds
is answered from it (both sides and the term statistics of that version), any other by Lance. Lance
stays the one store: the copy can always be rebuilt from it.

**Writers.** One at a time: an exclusive `flock` on `write.lock` plus a thread lock (and the `index`
Celery queue runs with concurrency 1). A writer that finds versions past the live one, left by a
writer killed mid-commit, restores the live version first, so the partial commit is dropped and the
next commit carries on with no manual repair. Every CLEANUP_EVERY commits, and on `reindex`, the
writer deletes versions older than KEEP_VERSIONS and the files no version references (the leftovers
of killed writers); the live and previous versions are tagged, so readers still on them are safe.
"""
import fcntl
import itertools
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("LANCE_LOG", "error")  # Lance logs every new dataset and scan option as a warning

import lance  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from lance.query import MatchQuery  # noqa: E402

from contentlib.errors import ApplicationError
from recommender.search.memory import MemoryIndex, View
from recommender.search.base import (
    BulkResult,
    Hit,
    IndexDocument,
    IndexInfo,
    SearchBackend,
    SearchFilters,
    SnapshotHits,
    clamp_k,
    query_terms,
    resolve_vector,
)

logger = logging.getLogger(__name__)

LIVE = "live"
PREVIOUS = "previous"
ARTICLES = "articles.lance"
TERMS = "terms.lance"
_TERMS_VERSION = "contentlib.terms_version"
_VECTOR_MODEL = "contentlib.vector_model"
_VECTOR_DIM = "contentlib.vector_dim"
# Every commit has a number, one more than the live one's; each row records the commit that wrote
# it (`written`) and each version the last full write (a rebuild, a new model): the in-memory copy
# (memory.py) catches up on the rows written since the commit it holds.
_COMMIT = "contentlib.commit"
_BASE_COMMIT = "contentlib.base_commit"

MLT_MAX_TERMS = 25
# A vector index pays off from a few thousand vectors: below, one exact scan is about a millisecond.
VECTOR_INDEX_MIN_ROWS = 5000
# The vector index: an HNSW graph over full-precision vectors (Lance's IVF_HNSW_FLAT with one
# partition). IVF_FLAT's cost followed how evenly k-means split the library (4-20 ms at 100,000
# clustered vectors) and HNSW over quantized vectors lost recall (0.83-0.95); docs/BENCHMARKS.md.
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 128  # at least the number of candidates asked for
DOC_FREQ_CACHE = 50_000  # document frequencies remembered per snapshot (a commit starts afresh)
# Query cost grows with every small file and every unindexed row (Lance scans those exactly): at
# 100,000 articles, 50 one-article commits took hybrid queries from 12 to 35 ms. So each commit
# merges small files once there are a few, and folds its new rows into a small delta of each index;
# deltas are merged into their index once there are too many. Each step costs well under 0.1 s.
# (Folding every commit was measured and dropped: Lance then no longer merges the one-row files,
# whose index coverage differs, and a one-row delta per commit piles up.)
# Lance's `fast_search` skips unindexed rows and saves 3-4 ms per vector query at 100,000 articles;
# so the vector side searches the index that way and scores the few unindexed rows itself (read
# once per snapshot, exact cosines as Lance's own scan gives). The lexical side uses fast_search
# only when every row is in the full-text index (BM25 of rows outside it is Lance's to compute).
COMPACT_SMALL_FRAGMENTS = 4  # merge fragments smaller than COMPACT_TARGET_ROWS once this many exist
COMPACT_TARGET_ROWS = 20_000  # larger fragments are left alone, so a merge never rewrites the library
UNINDEXED_MAX_ROWS = 100  # fold new rows into an index delta once this many are unindexed
INDEX_MAX_DELTAS = 8  # merge an index's deltas once it has more
CLEANUP_EVERY = 50  # commits between cleanups
KEEP_VERSIONS = timedelta(minutes=10)
# Over-fetch before the filter for the vector side; filters that keep fewer rows than this share of
# the index are applied before the search instead (a post-filter would leave too few).
POSTFILTER_MIN_SHARE = 0.5
# From this many documents a process that searches keeps the live snapshot in memory too (memory.py):
# tantivy and hnswlib answer a side in well under a millisecond where Lance takes 5-13 ms. It is
# built in a background thread at the first query (about 10 s at 100,000 articles) and caught up
# after each commit; until then, and for narrow filters, Lance answers.
# The site's backend takes it from settings.SEARCH_MEMORY_MIN_ROWS (a very large number turns the copy
# off, e.g. on a machine short of memory: every query is then Lance's).
MEMORY_INDEX_MIN_ROWS = 5000
MEMORY_INDEX_SYNC = False  # tests: build and catch up inside the query (every query uses the copy, and its faults raise)


def _schema(dim: int) -> pa.Schema:
    fields = [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("tokens", pa.string()),
        pa.field("title", pa.string()),
        pa.field("language", pa.string()),
        pa.field("category", pa.string()),
        pa.field("origin", pa.string()),
        pa.field("status", pa.string()),
        pa.field("owner", pa.int64()),  # -1: no owner
        pa.field("published", pa.bool_()),
        pa.field("written", pa.int64()),
    ]
    if dim:
        fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
    return pa.schema(fields)


# `written`: the commit that last changed the term's df (a term whose documents are all gone stays,
# with df 0, so that the in-memory copy sees the change among the rows written since its commit).
_TERMS_SCHEMA = pa.schema([pa.field("term", pa.string(), nullable=False), pa.field("df", pa.int64()),
                           pa.field("written", pa.int64())])
_DOC_COLUMNS = ["id", "tokens", "title", "language", "category", "origin", "status", "owner", "published"]


def _terms_of(tokens: str) -> set[str]:
    """The distinct terms of a document as the full-text index sees them (whitespace, lowercase)."""
    return set((tokens or "").lower().split())


def _sql(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _where(filters: SearchFilters) -> str | None:
    clauses = []
    if filters.published_only:
        clauses.append("published = true")
    for column in ("language", "category", "origin"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{column} = {_sql(value)}")
    if filters.owner_id is not None:
        clauses.append(f"owner = {int(filters.owner_id)}")
    return " AND ".join(clauses) or None


def _and(*clauses: str | None) -> str | None:
    return " AND ".join(f"({c})" for c in clauses if c) or None


def _small_fragments(dataset: lance.LanceDataset) -> int:
    return sum(1 for fragment in dataset.get_fragments() if fragment.metadata.physical_rows < COMPACT_TARGET_ROWS)


def _retag(dataset: lance.LanceDataset, version: int) -> None:
    """Points `live` at `version` and `previous` at the version `live` named before."""
    tags = dataset.tags.list()
    if LIVE not in tags:
        dataset.tags.create(LIVE, version)
        return
    if tags[LIVE]["version"] == version:
        return
    (dataset.tags.update if PREVIOUS in tags else dataset.tags.create)(PREVIOUS, tags[LIVE]["version"])
    dataset.tags.update(LIVE, version)


@dataclass
class _Snapshot:
    """One committed version: the articles dataset checked out at it, and its term statistics."""

    version: int
    articles: lance.LanceDataset
    terms: lance.LanceDataset | None
    dim: int
    model: str
    documents: int
    complete: frozenset[str] = frozenset()  # the indexes that cover every row: searched with fast_search
    # With a vector index: the rows it does not cover yet (the last commits'), scored in memory.
    unindexed: list[IndexDocument] | None = None
    doc_freqs: dict[str, int] = field(default_factory=dict)  # looked up so far: a version never changes
    commit: int = -1  # the commit's number (-1: an index written before commits were numbered)
    base: int = -1  # the number of the last full write

    @property
    def generation(self) -> str:
        return str(self.version)


class EmbeddedBackend(SearchBackend):
    name = "embedded"

    def __init__(self, directory: Path, *, memory_min_rows: int | None = None):
        self.directory = Path(directory)
        self.memory_min_rows = memory_min_rows  # None: MEMORY_INDEX_MIN_ROWS
        self.directory.mkdir(parents=True, exist_ok=True)
        self.articles_uri = str(self.directory / ARTICLES)
        self.terms_uri = str(self.directory / TERMS)
        self._lock_path = self.directory / "write.lock"
        self._thread_lock = threading.Lock()
        self._snapshots: dict[int, _Snapshot] = {}
        self._snapshots_lock = threading.Lock()
        self._commits = 0
        self._base: lance.LanceDataset | None = None  # any version: only its tags are read
        self._memory: MemoryIndex | None = None  # made at the first query of a large index

    # --- snapshots

    def _live_version(self) -> int | None:
        try:
            if self._base is None:
                self._base = lance.dataset(self.articles_uri)
            return self._base.tags.get_version(LIVE)
        except (ValueError, FileNotFoundError, OSError):  # no dataset yet, or never committed
            return None

    def _open(self, version: int) -> _Snapshot:
        articles = lance.dataset(self.articles_uri, version=version)
        config = articles.config()
        terms_version = int(config.get(_TERMS_VERSION, 0) or 0)
        terms = lance.dataset(self.terms_uri, version=terms_version) if terms_version else None
        stats = self._index_stats(articles)
        complete = frozenset(name for name, (unindexed, _) in stats.items() if not unindexed)
        snapshot = _Snapshot(version=version, articles=articles, terms=terms, dim=int(config.get(_VECTOR_DIM, 0) or 0),
                             model=config.get(_VECTOR_MODEL, ""), documents=articles.count_rows(), complete=complete,
                             commit=int(config.get(_COMMIT, -1)), base=int(config.get(_BASE_COMMIT, -1)))
        if "written" not in articles.schema.names:
            snapshot.commit = snapshot.base = -1
        if "vector_idx" in stats:
            snapshot.unindexed = self._unindexed_rows(articles) if "vector_idx" not in complete else []
        return snapshot

    @staticmethod
    def _unindexed_rows(articles: lance.LanceDataset) -> list[IndexDocument]:
        """The rows with a vector in fragments the vector index does not cover (at most a few hundred)."""
        index = next(i for i in articles.describe_indices() if i.name == "vector_idx")
        covered = {fragment for segment in index.segments for fragment in segment.fragment_ids}
        out = []
        for fragment in articles.get_fragments():
            if fragment.fragment_id in covered:
                continue
            table = fragment.to_table(columns=[*_DOC_COLUMNS, "vector"], filter="vector IS NOT NULL")
            for row in table.to_pylist():
                out.append(IndexDocument(
                    id=row["id"], tokens="", language=row["language"] or "", category=row["category"] or "",
                    origin=row["origin"] or "", published=bool(row["published"]),
                    owner_id=None if row["owner"] in (None, -1) else row["owner"],
                    vector=np.asarray(row["vector"], dtype=np.float32)))
        return out

    def _snapshot(self) -> _Snapshot | None:
        """The live snapshot, opened once per process and version (reading the tag costs a file read)."""
        version = self._live_version()
        if version is None:
            return None
        snapshot = self._snapshots.get(version)
        if snapshot is None:
            with self._snapshots_lock:
                snapshot = self._snapshots.get(version)
                if snapshot is None:
                    snapshot = self._open(version)
                    # The one before stays for queries still running on it; older ones are dropped.
                    self._snapshots = {v: s for v, s in self._snapshots.items() if v >= version - 1}
                    self._snapshots[version] = snapshot
        return snapshot

    def info(self) -> IndexInfo:
        snapshot = self._snapshot()
        if snapshot is None:
            return IndexInfo(generation="", documents=0, vector_dim=None, vector_model="")
        return IndexInfo(generation=snapshot.generation, documents=snapshot.documents,
                         vector_dim=snapshot.dim or None, vector_model=snapshot.model)

    # --- reading

    def search(self, tokens, vector, *, k=10, filters=SearchFilters(), term_stats=True) -> SnapshotHits:
        snapshot = self._snapshot()
        terms, k = query_terms(tokens), clamp_k(k)
        if snapshot is None:
            return SnapshotHits(generation="", doc_freqs={t: 0 for t in terms} if term_stats else {})
        found = SnapshotHits(generation=snapshot.generation, documents=snapshot.documents,
                             vector_dim=snapshot.dim or None)
        view = self._view(snapshot) if (k or term_stats) and not self._selective(filters) else None
        if view is not None:
            try:
                return self._search_view(found, view, snapshot, terms, vector, k, filters, term_stats)
            except Exception:  # noqa: BLE001 - a fault of the copy must not fail a reader's search
                if self._memory.synchronous:
                    raise  # tests: a fault of the copy shows instead of hiding behind Lance
                logger.exception("search index: the in-memory copy failed a query; Lance answers it")
                found = SnapshotHits(generation=snapshot.generation, documents=snapshot.documents,
                                     vector_dim=snapshot.dim or None)
        # The two sides one after the other: run in two threads they were slower on two cores (Lance
        # already spreads a scan over its own threads).
        if terms and k:
            found.lexical = self._lexical(snapshot, terms, k, _where(filters), self._selective(filters))
        vector = resolve_vector(vector)  # a query still being encoded has had the lexical side's time
        if vector is not None and k:
            found.vector = self._vector(snapshot, vector, k, filters)
        if term_stats:
            found.doc_freqs = self._doc_freqs(snapshot, terms)
        return found

    def _search_view(self, found: SnapshotHits, view: View, snapshot: _Snapshot, terms: list[str], vector, k: int,
                     filters: SearchFilters, term_stats: bool) -> SnapshotHits:
        """`search` answered from the in-memory copy's view of the snapshot (plain filters only)."""
        if terms and k:
            found.lexical = self._hits_of(view.lexical(terms, k, filters.published_only))[:k]
        query = self._query_vector(snapshot, resolve_vector(vector))
        if query is not None and k:
            found.vector = self._hits_of(view.vector(query, k, filters.published_only))[:k]
        if term_stats:
            found.doc_freqs = view.doc_freqs(terms)
        return found

    @staticmethod
    def _query_vector(snapshot: _Snapshot, vector) -> np.ndarray | None:
        """The query vector as float32, or None when it cannot match this snapshot's vectors (none
        given, another dimension, NaN or zero): such a vector finds nothing."""
        if vector is None:
            return None
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if not snapshot.dim or len(query) != snapshot.dim or not np.all(np.isfinite(query)) or not np.any(query):
            return None
        return query

    def _view(self, snapshot: _Snapshot) -> View | None:
        """The snapshot in memory, when the index is large enough to keep it there and the copy has
        caught up with this version (else None, and Lance answers)."""
        threshold = MEMORY_INDEX_MIN_ROWS if self.memory_min_rows is None else self.memory_min_rows
        if snapshot.documents < threshold or snapshot.commit < 0:
            return None
        if self._memory is None:
            with self._snapshots_lock:
                if self._memory is None:
                    self._memory = MemoryIndex(synchronous=MEMORY_INDEX_SYNC)
        return self._memory.view(snapshot, self._snapshot)

    def memory_ready(self) -> int | None:
        """The newest version the in-memory copy holds (None: none yet, or the index is too small)."""
        return None if self._memory is None else self._memory.ready()

    @staticmethod
    def _hits_of(pairs: list[tuple[int, float]]) -> list[Hit]:
        hits = [Hit(doc_id, score) for doc_id, score in pairs]
        hits.sort(key=lambda h: (-round(h.score, 6), h.id))  # ties to the lower id, as everywhere
        return hits

    def _lexical(self, snapshot: _Snapshot, terms: list[str], k: int, where: str | None,
                 selective: bool = False) -> list[Hit]:
        query = MatchQuery(" ".join(terms), "tokens")

        def scan(limit, prefilter):
            return snapshot.articles.to_table(columns=["id", "_score"], full_text_query=query, filter=where,
                                              prefilter=prefilter, limit=limit, disable_scoring_autoprojection=True,
                                              fast_search="tokens_idx" in snapshot.complete)

        table = self._filtered(scan, k, where, selective, snapshot.documents)
        return self._hits(table, "_score", lambda score: score)[:k]

    @staticmethod
    def _filtered(scan, k: int, where: str | None, selective: bool, documents: int) -> pa.Table:
        """Runs `scan(limit, prefilter)` for the top k under the filter. A filter that keeps most
        documents (published-only) is cheaper applied to twice as many hits than before the search
        (3 vs 10 ms at 100,000 articles); when too few survive, or the filter is narrow (an owner, a
        language), it is applied first. BM25 and cosine scores do not depend on the filter, so both
        ways rank alike."""
        if not where or selective:
            return scan(k, True)
        deep = min(2 * k, 1000)
        table = scan(deep, False)
        if table.num_rows < k and documents > deep:
            table = scan(k, True)
        return table

    def _vector(self, snapshot: _Snapshot, vector, k: int, filters: SearchFilters) -> list[Hit]:
        query = self._query_vector(snapshot, vector)
        if query is None:
            return []
        where = _where(filters)

        def scan(limit, prefilter):
            nearest = {"column": "vector", "q": query, "k": limit, "metric": "dot",
                       "ef": max(limit, HNSW_EF_SEARCH)}
            return snapshot.articles.to_table(columns=["id", "_distance"], nearest=nearest, filter=where,
                                              prefilter=prefilter, disable_scoring_autoprojection=True,
                                              fast_search=snapshot.unindexed is not None)

        table = self._filtered(scan, k, where, self._selective(filters), snapshot.documents)
        # Lance's dot "distance" is 1 - dot product; for unit vectors the dot product is the cosine.
        hits = self._hits(table, "_distance", lambda distance: 1.0 - distance)
        if snapshot.unindexed:  # fast_search left them out: their exact cosines, under the same filter
            hits += [Hit(d.id, float(d.vector @ query)) for d in snapshot.unindexed if filters.matches(d)]
            hits.sort(key=lambda h: (-round(h.score, 6), h.id))
        return hits[:k]

    @staticmethod
    def _selective(filters: SearchFilters) -> bool:
        return any(getattr(filters, f) is not None for f in ("language", "category", "origin", "owner_id"))

    @staticmethod
    def _hits(table: pa.Table, column: str, score) -> list[Hit]:
        ids = table.column("id").to_pylist()
        scores = table.column(column).to_pylist()
        hits = [Hit(int(i), float(score(s))) for i, s in zip(ids, scores, strict=True)]
        # Ties go to the lower id, as every backend orders them.
        hits.sort(key=lambda h: (-round(h.score, 6), h.id))
        return hits

    def _doc_freqs(self, snapshot: _Snapshot, terms: list[str]) -> dict[str, int]:
        known = snapshot.doc_freqs
        missing = [t for t in terms if t not in known]
        if missing:
            found = dict.fromkeys(missing, 0)
            if snapshot.terms is not None:
                table = snapshot.terms.to_table(filter=f"term IN ({', '.join(_sql(t) for t in missing)})")
                found.update(zip(table.column("term").to_pylist(), table.column("df").to_pylist(), strict=True))
            if len(known) > DOC_FREQ_CACHE:
                known.clear()
            known.update(found)  # one dict update: safe for readers in other threads
            return {t: known.get(t, found.get(t, 0)) for t in terms}
        return {t: known[t] for t in terms}

    def fetch(self, ids: Sequence[int]) -> dict[int, IndexDocument]:
        wanted = sorted({int(i) for i in ids})
        snapshot = self._snapshot()
        if not wanted or snapshot is None:
            return {}
        columns = _DOC_COLUMNS + (["vector"] if snapshot.dim else [])
        table = snapshot.articles.to_table(columns=columns, filter=f"id IN ({', '.join(map(str, wanted))})")
        out = {}
        for row in table.to_pylist():
            vector = row.get("vector")
            out[row["id"]] = IndexDocument(
                id=row["id"], tokens=row["tokens"] or "", title=row["title"] or "", language=row["language"] or "",
                category=row["category"] or "", origin=row["origin"] or "", status=row["status"] or "",
                published=bool(row["published"]), owner_id=None if row["owner"] in (None, -1) else row["owner"],
                vector=None if vector is None else np.asarray(vector, dtype=np.float32), vector_model=snapshot.model,
            )
        return out

    def more_like_this(self, doc_id: int, *, k=10, filters=SearchFilters()) -> list[Hit]:
        """BM25 over the source document's most distinctive terms (tf × idf), without the document."""
        k = clamp_k(k)
        snapshot = self._snapshot()
        if snapshot is None or k == 0:
            return []
        source = snapshot.articles.to_table(columns=["tokens"], filter=f"id = {int(doc_id)}").column("tokens").to_pylist()
        counts = Counter((source[0] or "").lower().split()) if source else Counter()
        if not counts:
            return []
        freqs = self._doc_freqs(snapshot, list(counts))
        total = max(snapshot.documents, 1)

        def weight(term: str) -> float:
            return counts[term] * math.log(1.0 + (total - freqs.get(term, 0) + 0.5) / (freqs.get(term, 0) + 0.5))

        terms = sorted(counts, key=lambda t: (-weight(t), t))[:MLT_MAX_TERMS]
        return self._lexical(snapshot, terms, k, _and(_where(filters), f"id != {int(doc_id)}"), True)

    def ids(self) -> set[int]:
        snapshot = self._snapshot()
        if snapshot is None:
            return set()
        return set(snapshot.articles.to_table(columns=["id"]).column("id").to_pylist())

    # --- writing

    @contextmanager
    def _writer(self):
        """The one writer: a process-wide flock plus a thread lock, held for one whole commit. Yields
        the live snapshot after dropping whatever a killed writer left past it."""
        with self._thread_lock, open(self._lock_path, "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield self._recovered()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _recovered(self) -> _Snapshot | None:
        live = self._live_version()
        if live is None:
            return None
        snapshot = self._open(live)
        if lance.dataset(self.articles_uri).version != live:
            logger.warning("search index: dropping an unfinished commit past version %d (a writer was killed)", live)
            snapshot.articles.restore()
        if snapshot.terms is not None and lance.dataset(self.terms_uri).version != snapshot.terms.version:
            snapshot.terms.restore()
        return snapshot

    def _table(self, docs: Sequence[IndexDocument], dim: int, commit: int) -> pa.Table:
        columns = {
            "id": [int(d.id) for d in docs],
            "tokens": [d.tokens or "" for d in docs],
            "title": [d.title or "" for d in docs],
            "language": [d.language or "" for d in docs],
            "category": [d.category or "" for d in docs],
            "origin": [d.origin or "" for d in docs],
            "status": [d.status or "" for d in docs],
            "owner": [-1 if d.owner_id is None else int(d.owner_id) for d in docs],
            "published": [bool(d.published) for d in docs],
            "written": [commit] * len(docs),
        }
        if dim:
            flat = np.zeros((len(docs), dim), dtype=np.float32)
            missing = np.ones(len(docs), dtype=bool)
            for row, doc in enumerate(docs):
                if doc.vector is not None:
                    flat[row], missing[row] = doc.vector, False
            columns["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), dim,
                                                                  mask=pa.array(missing) if missing.any() else None)
        return pa.table(columns, schema=_schema(dim))

    @staticmethod
    def _vector_dim(docs: Iterable[IndexDocument]) -> int:
        return next((len(d.vector) for d in docs if d.vector is not None), 0)

    @staticmethod
    def _validate(docs: Sequence[IndexDocument], dim: int) -> None:
        """Refuses a batch whose vectors are not all `dim`-dimensional and finite, before any write."""
        for doc in docs:
            if doc.vector is None:
                continue
            if len(doc.vector) != dim:
                raise ApplicationError(
                    f"Article #{doc.id} has a {len(doc.vector)}-dimensional embedding but the search index holds "
                    f"{dim}-dimensional ones (the embedding model changed). Run `python manage.py reindex` "
                    "to rebuild the index with the new model's vectors.",
                    {"code": "dimension_mismatch"},
                )
            if not np.all(np.isfinite(doc.vector)):
                raise ApplicationError(f"Article #{doc.id} has an embedding with NaN or infinite values; "
                                       "re-run its enrichment (`manage.py enrich --model-changed`).",
                                       {"code": "bad_vector"})

    @staticmethod
    def _model_of(docs: Iterable[IndexDocument], default: str) -> str:
        return next((d.vector_model for d in docs if d.vector is not None and d.vector_model), default)

    def upsert(self, docs: Sequence[IndexDocument]) -> BulkResult:
        docs = list({int(d.id): d for d in docs}.values())
        if not docs:
            return BulkResult()
        with self._writer() as live:
            dim = live.dim if live is not None and live.dim else self._vector_dim(docs)
            self._validate(docs, dim)
            model = self._model_of(docs, live.model if live is not None else "")
            if live is None or dim != live.dim or live.commit < 0:
                # The first write, the first vectors, or an index written before commits were numbered
                # (it has no `written` column): the whole index is written anew.
                kept = [] if live is None else [d for d in self._all_documents(live) if d.id not in {x.id for x in docs}]
                generation = self._write_all([[*kept, *docs]], dim=dim, model=model)
            else:
                generation = self._commit(live, upserts=docs, deletes=[], model=model)
        return BulkResult(indexed=len(docs), generation=generation)

    def delete(self, ids: Sequence[int]) -> BulkResult:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return BulkResult()
        with self._writer() as live:
            if live is None:
                return BulkResult(deleted=len(ids))
            if live.commit < 0:  # written before commits were numbered: anew, without them
                kept = [d for d in self._all_documents(live) if d.id not in set(ids)]
                generation = self._write_all([kept], dim=live.dim, model=live.model)
            else:
                generation = self._commit(live, upserts=[], deletes=ids, model=live.model)
        return BulkResult(deleted=len(ids), generation=generation)

    def _all_documents(self, snapshot: _Snapshot) -> list[IndexDocument]:
        return list(self.fetch(self.ids()).values()) if snapshot is not None else []

    def _commit(self, live: _Snapshot, *, upserts: list[IndexDocument], deletes: list[int], model: str) -> str:
        """Writes one commit on top of the live version and moves the tag to it."""
        touched = [d.id for d in upserts] + deletes
        before = live.articles.to_table(columns=["id", "tokens"], filter=f"id IN ({', '.join(map(str, touched))})")
        delta: Counter = Counter()
        for tokens in before.column("tokens").to_pylist():
            delta.subtract(_terms_of(tokens))
        for doc in upserts:
            delta.update(_terms_of(doc.tokens))
        articles = live.articles
        commit = live.commit + 1
        if upserts:
            articles.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(
                self._table(upserts, live.dim, commit))
        if deletes:
            articles.delete(f"id IN ({', '.join(map(str, deletes))})")
        terms_version = self._terms_apply(live.terms, delta, commit)
        self._upkeep(articles)
        return self._publish(articles, terms_version=terms_version, dim=live.dim, model=model, commit=commit,
                             base=live.base)

    def _terms_apply(self, terms: lance.LanceDataset | None, delta: Counter, commit: int) -> int:
        """Applies document-frequency changes to the terms dataset; returns its new version."""
        changed = {t: n for t, n in delta.items() if n}
        if terms is None:
            terms = lance.write_dataset(pa.table({"term": [], "df": [], "written": []}, schema=_TERMS_SCHEMA),
                                        self.terms_uri, mode="overwrite")
        if not changed:
            return terms.version
        current: dict[str, int] = {}
        names = list(changed)
        for start in range(0, len(names), 5000):
            chunk = names[start:start + 5000]
            table = terms.to_table(filter=f"term IN ({', '.join(_sql(t) for t in chunk)})")
            current.update(zip(table.column("term").to_pylist(), table.column("df").to_pylist(), strict=True))
        updated = {t: max(current.get(t, 0) + n, 0) for t, n in changed.items()}
        terms.merge_insert("term").when_matched_update_all().when_not_matched_insert_all().execute(
            pa.table({"term": list(updated), "df": list(updated.values()), "written": [commit] * len(updated)},
                     schema=_TERMS_SCHEMA))
        if _small_fragments(terms) > COMPACT_SMALL_FRAGMENTS:
            terms.optimize.compact_files(target_rows_per_fragment=COMPACT_TARGET_ROWS)
        return terms.version

    def _upkeep(self, articles: lance.LanceDataset) -> None:
        """Keeps the files and indexes of the articles dataset in shape after a write (see
        COMPACT_SMALL_FRAGMENTS): merges small files, folds new rows into index deltas, merges deltas."""
        if _small_fragments(articles) > COMPACT_SMALL_FRAGMENTS:
            articles.optimize.compact_files(target_rows_per_fragment=COMPACT_TARGET_ROWS)
        stats = self._index_stats(articles)
        rows = articles.count_rows()  # documents without a vector are few: this stands for the vectors too
        if "tokens_idx" not in stats and rows:
            self._create_text_index(articles)
        if "vector" in articles.schema.names and "vector_idx" not in stats and rows >= VECTOR_INDEX_MIN_ROWS:
            self._create_vector_index(articles)
        for name, (unindexed, deltas) in stats.items():
            if deltas > INDEX_MAX_DELTAS:
                articles.optimize.optimize_indices(index_names=[name])
            elif unindexed > UNINDEXED_MAX_ROWS:
                articles.optimize.optimize_indices(index_names=[name], num_indices_to_merge=0)

    @staticmethod
    def _index_stats(articles: lance.LanceDataset) -> dict[str, tuple[int, int]]:
        """{index name: (rows it does not cover yet, its number of deltas)}."""
        out = {}
        for index in articles.describe_indices():
            if index.name in ("tokens_idx", "vector_idx"):
                stats = articles.stats.index_stats(index.name)
                out[index.name] = (stats["num_unindexed_rows"], len(stats.get("num_indexed_rows_per_delta") or [1]))
        return out

    @staticmethod
    def _create_text_index(articles: lance.LanceDataset) -> None:
        # Tokens come segmented by enrichment: split on whitespace, lowercase, nothing else (no stemming,
        # stop words or folding, and no length limit: a long token is a token).
        articles.create_scalar_index("tokens", index_type="INVERTED", name="tokens_idx", base_tokenizer="whitespace",
                                     lower_case=True, stem=False, remove_stop_words=False, ascii_folding=False,
                                     with_position=False, max_token_length=None)

    @staticmethod
    def _create_vector_index(articles: lance.LanceDataset) -> None:
        articles.create_index("vector", index_type="IVF_HNSW_FLAT", name="vector_idx", metric="dot",
                              num_partitions=1, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, replace=True)

    def _publish(self, articles: lance.LanceDataset, *, terms_version: int, dim: int, model: str, commit: int,
                 base: int) -> str:
        """Records the commit's number, terms version and model, then moves the live tag: the commit point."""
        articles.update_config({_TERMS_VERSION: str(terms_version), _VECTOR_DIM: str(dim), _VECTOR_MODEL: model,
                                _COMMIT: str(commit), _BASE_COMMIT: str(base)})
        # The terms dataset is tagged too, only so that cleanup keeps the versions readers may use.
        if terms_version:
            _retag(lance.dataset(self.terms_uri), terms_version)
        _retag(articles, articles.version)
        self._commits += 1
        if self._commits % CLEANUP_EVERY == 0:
            self._cleanup()
        return str(articles.version)

    def _cleanup(self) -> None:
        """Deletes versions older than KEEP_VERSIONS (never the tagged live and previous ones) and the
        files no version references, which killed writers leave. Runs under the write lock, so no
        write is in progress."""
        for uri in (self.articles_uri, self.terms_uri):
            try:
                dataset = lance.dataset(uri)
            except (ValueError, FileNotFoundError, OSError):
                continue
            dataset.cleanup_old_versions(older_than=KEEP_VERSIONS, delete_unverified=True,
                                         error_if_tagged_old_versions=False)

    def _write_all(self, batches: Iterable[Sequence[IndexDocument]], *, dim: int | None = None, model: str = "",
                   seen: set[int] | None = None) -> str:
        """Writes a whole new version of the index (first write, rebuild, new model) and publishes it.
        Readers stay on the old version until the tag moves. `seen` collects the ids written."""
        batches = iter(batches)
        buffered: list[Sequence[IndexDocument]] = []
        if dim is None:  # the vectors' dimension: from the first batch that has a vector
            for batch in batches:
                buffered.append(batch)
                dim = self._vector_dim(batch)
                if dim:
                    break
            dim = dim or 0
        seen = set() if seen is None else seen
        live = self._live_version()
        commit = 1 + (max(self._open(live).commit, 0) if live is not None else 0)
        freqs: Counter = Counter()
        models: list[str] = [model] if model else []
        refused: list[ApplicationError] = []

        def record_batches():
            for batch in itertools.chain(buffered, batches):
                batch = list({int(d.id): d for d in batch if int(d.id) not in seen}.values())
                if not batch:
                    continue
                try:
                    self._validate(batch, dim)
                except ApplicationError as error:
                    refused.append(error)  # Lance would wrap it; re-raised below as it is
                    raise
                seen.update(d.id for d in batch)
                for doc in batch:
                    freqs.update(_terms_of(doc.tokens))
                models.extend([self._model_of(batch, "")] if not models and self._model_of(batch, "") else [])
                yield from self._table(batch, dim, commit).to_batches()

        schema = _schema(dim)
        try:
            articles = lance.write_dataset(pa.RecordBatchReader.from_batches(schema, record_batches()),
                                           self.articles_uri, schema=schema, mode="overwrite")
        except Exception:
            if refused:
                raise refused[0] from None
            raise
        terms = lance.write_dataset(pa.table({"term": list(freqs), "df": list(freqs.values()),
                                              "written": [commit] * len(freqs)}, schema=_TERMS_SCHEMA),
                                    self.terms_uri, mode="overwrite")
        if freqs:
            terms.create_scalar_index("term", index_type="BTREE", name="term_idx")
        if seen:
            articles.create_scalar_index("id", index_type="BTREE", name="id_idx")
        self._upkeep(articles)
        return self._publish(articles, terms_version=terms.version, dim=dim, model=models[0] if models else "",
                             commit=commit, base=commit)

    def rebuild(self, batches) -> BulkResult:
        """Writes the whole library as one new version (a new embedding dimension included) and makes it
        live in one step; documents not in `batches` are gone afterwards."""
        seen: set[int] = set()
        with self._writer() as live:
            before = set() if live is None else set(live.articles.to_table(columns=["id"]).column("id").to_pylist())
            generation = self._write_all(batches, seen=seen)
            self._cleanup()
        return BulkResult(indexed=len(seen), deleted=len(before - seen), generation=generation)

    def clear(self) -> None:
        with self._writer():
            self._write_all([[]], dim=0)

    def compact(self) -> None:
        """Merges small files and folds every unindexed row into the indexes, as one commit."""
        with self._writer() as live:
            if live is None:
                return
            articles = live.articles
            articles.optimize.compact_files()
            if self._index_stats(articles):
                articles.optimize.optimize_indices()
            self._publish(articles, terms_version=live.terms.version if live.terms is not None else 0, dim=live.dim,
                          model=live.model, commit=live.commit, base=live.base)
            self._cleanup()
