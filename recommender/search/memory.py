"""The embedded engine's read path in memory: one process's copy of a committed snapshot, for speed.

Lance keeps the index (`embedded.py`): commits, versions, kills, cleanup. But one Lance query side
costs 5-7 ms p50 and 10-13 ms p99 at 100,000 articles (DataFusion planning and its thread pool, even
fully indexed; docs/BENCHMARKS.md), so a hybrid query cannot meet its 10 ms p99. So a process that
searches a large index also keeps it in memory: tantivy in RAM for BM25 and an hnswlib graph for
the vectors, built from one committed Lance version and caught up commit by commit from the rows
each commit wrote (the `written` column, the commit's number). Both are libraries made for this
(the engine before Lance used them on disk); here they hold nothing Lance does not, so a kill, a
torn write or a stale copy cannot lose anything: the copy is rebuilt from Lance.

**Snapshots.** A `View` is one committed version in memory: a tantivy searcher (tantivy's segments
are immutable, so a searcher keeps reading the state it was opened on) and the graph's slots that
were alive at that version. An upsert gives the document a new slot and ends the old one's life in
later views only; slots added after a view are not alive in it. So a query answered from a view
reads exactly that version, both sides, and a query for a version that has no view yet is answered
by Lance (embedded.py) while the copy catches up in the background.

A query uses the copy only for its plain filters (published or not): the narrow ones (language,
category, owner, origin) keep Lance's pre-filtered search, which returns exactly the matching rows.
"""
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

logger = logging.getLogger(__name__)

HNSW_M = 24
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 128
# A full build instead of a catch-up once a commit changed this share of the documents (a rebuild
# writes them all) or this share of the graph's slots are dead (replaced or deleted documents, which
# searches skip and which would make them dig ever deeper).
REBUILD_CHANGED_SHARE = 0.3
REBUILD_DEAD_SHARE = 0.3
# Hits past k are fetched so that ties at the cut go to the lower id (the caller sorts and cuts).
TIE_MARGIN = 10
RETRY_SECONDS = 30  # after a failed catch-up, Lance answers alone this long before the copy tries again
VIEWS_KEPT = 3  # views of recent versions kept for queries still running on them
BUILD_BATCH_ROWS = 10_000
DF_CHANGED_MAX = 20_000  # changed document frequencies kept apart (copied per view) before folding them in
COLUMNS = ["id", "tokens", "published", "written"]


@dataclass(frozen=True)
class View:
    """One committed version, in memory. Everything here is read-only once made."""

    version: int
    commit: int
    searcher: object  # tantivy.Searcher
    alive: np.ndarray  # bool per slot: the slot's document is in this version
    copy: "_Copy"
    df_base: dict  # document frequencies at the copy's full build …
    df_changed: dict  # … and those changed since, as of this version

    def doc_freqs(self, terms: list[str]) -> dict[str, int]:
        return {t: self.df_changed.get(t, self.df_base.get(t, 0)) for t in terms}

    def lexical(self, terms: list[str], k: int, published_only: bool) -> list[tuple[int, float]]:
        """BM25 hits for any of the terms: at least the top k (more when scores tie), unsorted."""
        import tantivy  # noqa: PLC0415 - loaded with the copy

        copy = self.copy
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(copy.schema, "tokens", term)) for term in terms])
        depth = 2 * (k + TIE_MARGIN) if published_only else k + TIE_MARGIN
        while True:
            hits = self.searcher.search(query, depth, count=False).hits
            slots = np.asarray(self.searcher.fast_field_values("slot", [address for _, address in hits]), dtype=np.int64)
            scores = [score for score, _ in hits]
            keep = copy.published[slots] if published_only and len(slots) else np.ones(len(slots), dtype=bool)
            if keep.sum() >= k + TIE_MARGIN or len(hits) < depth:
                break
            depth *= 4  # unpublished documents took places: deeper (the searcher holds only this version's)
        return [(int(copy.ids[s]), float(score)) for s, score, kept in zip(slots, scores, keep, strict=True) if kept]

    def vector(self, query: np.ndarray, k: int, published_only: bool) -> list[tuple[int, float]]:
        """Cosine hits from the graph: at least the top k that the filter keeps, unsorted."""
        copy = self.copy
        n = len(self.alive)
        wanted = self.alive & copy.has_vector[:n] & (copy.published[:n] if published_only else True)
        matching = int(wanted.sum())
        if matching == 0 or k == 0:
            return []
        depth = min(2 * k + TIE_MARGIN, len(self.alive))
        while True:
            labels, distances = copy.knn(query, depth)
            labels = labels.astype(np.int64)
            inside = labels < len(wanted)
            labels, distances = labels[inside], distances[inside]
            kept = wanted[labels]
            found = int(kept.sum())
            if found >= min(k + TIE_MARGIN, matching) or depth >= copy.count():
                break
            depth = min(depth * 4, copy.count())
        # hnswlib's inner-product "distance" is 1 - dot; the vectors are unit, so 1 - distance is the cosine.
        return [(int(copy.ids[label]), 1.0 - float(distance))
                for label, distance in zip(labels[kept], distances[kept], strict=True)]


class _Copy:
    """The mutable part behind the views: the tantivy index and its writer, the graph, and one entry
    per slot (the document id, published). Slots are only ever appended; arrays grow by copying, so
    a view made before keeps valid arrays. Changed by one updater at a time (MemoryIndex's lock)."""

    def __init__(self, dim: int, capacity: int):
        import hnswlib  # noqa: PLC0415 - only processes that search a large index load these
        import tantivy  # noqa: PLC0415

        builder = tantivy.SchemaBuilder()
        # Tokens come segmented and are lowercased here, as Lance's full-text index does.
        builder.add_text_field("tokens", stored=False, tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("id", stored=False, indexed=True, fast=False)
        builder.add_integer_field("slot", stored=False, indexed=False, fast=True)
        self.schema = builder.build()
        self.text = tantivy.Index(self.schema)
        self.writer = self.text.writer(heap_size=64_000_000, num_threads=1)
        self.dim = dim
        self.graph = None
        if dim:
            self.graph = hnswlib.Index(space="ip", dim=dim)
            self.graph.init_index(max_elements=max(capacity, 16), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
        self.graph_lock = threading.Lock()  # hnswlib: no search while the graph grows or resizes
        self.ids = np.zeros(max(capacity, 16), dtype=np.int64)
        self.published = np.zeros(max(capacity, 16), dtype=bool)
        self.has_vector = np.zeros(max(capacity, 16), dtype=bool)
        self.slots = 0
        self.slot_of: dict[int, int] = {}  # id -> its live slot in the newest view
        self.alive = np.zeros(max(capacity, 16), dtype=bool)
        self.dead = 0
        self.df_base: dict[str, int] = {}
        self.df_changed: dict[str, int] = {}

    def count(self) -> int:
        return self.slots

    def knn(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest slots with a vector (documents without one have a slot but no graph entry)."""
        if self.graph is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        with self.graph_lock:
            present = self.graph.get_current_count()
            depth = min(depth, present)
            if depth == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            self.graph.set_ef(max(depth, HNSW_EF_SEARCH))
            labels, distances = self.graph.knn_query(query.reshape(1, -1), k=depth)
        return labels[0], distances[0]

    def _grow(self, needed: int) -> None:
        capacity = len(self.ids)
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2)
        for name in ("ids", "published", "has_vector", "alive"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)  # views keep the arrays they were made with
        if self.graph is not None:
            with self.graph_lock:
                self.graph.resize_index(capacity)

    def apply(self, batches, deleted: set[int]) -> int:
        """Writes the rows of `batches` (new or replaced documents, Arrow tables or record batches,
        read one at a time so a whole library is never in memory twice) and removes `deleted`, then
        commits tantivy. Returns the number of rows written."""
        for doc_id in deleted:
            self._remove(doc_id)
        written = 0
        for batch in batches:
            rows = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            self._add(rows)
            written += rows.num_rows
        self.writer.commit()
        self.text.reload()
        return written

    def _remove(self, doc_id: int) -> None:
        slot = self.slot_of.pop(doc_id, None)
        if slot is not None:
            self.writer.delete_documents_by_term("id", doc_id)
            self.alive[slot] = False
            self.dead += 1

    def _add(self, rows: pa.Table) -> None:
        import tantivy  # noqa: PLC0415

        ids = rows.column("id").to_numpy()
        for doc_id in ids:  # a replaced document: its old slot ends here
            self._remove(int(doc_id))
        start = self.slots
        self._grow(start + len(ids))
        tokens = rows.column("tokens").to_pylist()
        published = rows.column("published").to_numpy(zero_copy_only=False)
        for offset, (doc_id, text) in enumerate(zip(ids, tokens, strict=True)):
            self.writer.add_document(tantivy.Document(id=int(doc_id), slot=start + offset, tokens=(text or "").lower()))
        slots = np.arange(start, start + len(ids))
        self.ids[slots] = ids
        self.published[slots] = published.astype(bool)
        self.alive[slots] = True
        self.slot_of.update(zip((int(i) for i in ids), (int(s) for s in slots)))
        self.slots += len(ids)
        if self.graph is not None and "vector" in rows.column_names and len(ids):
            column = rows.column("vector")
            valid = ~column.is_null().to_numpy(zero_copy_only=False)
            if valid.any():
                matrix = np.asarray(column.filter(pa.array(valid)).combine_chunks().flatten().to_numpy(zero_copy_only=False),
                                    dtype=np.float32).reshape(-1, self.dim)
                with self.graph_lock:
                    self.graph.add_items(matrix, slots[valid])
                self.has_vector[slots[valid]] = True

    def read_doc_freqs(self, terms, commit: int | None) -> None:
        """Reads the terms dataset's rows written after `commit` (all of them when None)."""
        if terms is None:
            return
        table = terms.to_table(columns=["term", "df"], filter=None if commit is None else f"written > {commit}")
        found = dict(zip(table.column("term").to_pylist(), table.column("df").to_pylist(), strict=True))
        if commit is None:
            self.df_base, self.df_changed = found, {}
        elif len(self.df_changed) + len(found) > DF_CHANGED_MAX:
            self.df_base, self.df_changed = {**self.df_base, **self.df_changed, **found}, {}
        else:
            self.df_changed = {**self.df_changed, **found}  # a new dict: views keep theirs

    def view(self, version: int, commit: int) -> View:
        return View(version=version, commit=commit, searcher=self.text.searcher(), alive=self.alive[:self.slots].copy(),
                    copy=self, df_base=self.df_base, df_changed=self.df_changed)


class MemoryIndex:
    """One process's copy of the live snapshot, kept beside an EmbeddedBackend. `view(snapshot)`
    returns the snapshot's view, or None (then the caller asks Lance) and starts catching up: in a
    background thread, or at once when `synchronous` (tests)."""

    def __init__(self, *, synchronous: bool = False):
        self.synchronous = synchronous
        self._lock = threading.Lock()  # one build or catch-up at a time
        self._copy: _Copy | None = None
        self._base = -1  # the commit of the full write the copy was built from
        self._commit = -1  # the commit the copy is at
        self._version = -1
        self._views: dict[int, View] = {}
        self._worker: threading.Thread | None = None
        self.failed: str = ""  # why the last catch-up failed (tried again after RETRY_SECONDS)
        self._retry_at = 0.0

    def view(self, snapshot, newest) -> View | None:
        """`snapshot` is the live _Snapshot; `newest()` returns the live one again (the background
        catch-up follows commits that land while it works)."""
        found = self._views.get(snapshot.version)
        if found is not None:
            return found
        if self.synchronous:
            with self._lock:
                self._catch_up(snapshot)
            return self._views.get(snapshot.version)
        if (self._worker is None or not self._worker.is_alive()) and time.monotonic() >= self._retry_at:
            self._worker = threading.Thread(target=self._follow, args=(newest,), name="search-memory", daemon=True)
            self._worker.start()
        return None

    def _follow(self, newest) -> None:
        with self._lock:
            while True:
                snapshot = newest()
                if snapshot is None or snapshot.version in self._views:
                    return
                try:
                    self._catch_up(snapshot)
                except Exception as error:  # noqa: BLE001 - Lance answers meanwhile; logged, retried at the next query
                    self.failed = f"{type(error).__name__}: {error}"
                    self._retry_at = time.monotonic() + RETRY_SECONDS
                    self._copy = None  # it may be half caught up: the next try builds anew (views made stay valid)
                    logger.exception("search index: the in-memory copy could not follow version %d", snapshot.version)
                    return

    def _catch_up(self, snapshot) -> None:
        if snapshot.version in self._views or snapshot.commit < 0:
            return
        copy = self._copy
        full = (copy is None or snapshot.base != self._base or snapshot.dim != copy.dim
                or snapshot.commit < self._commit or copy.dead > REBUILD_DEAD_SHARE * max(copy.slots, 1))
        if not full and snapshot.commit == self._commit:
            # Same rows (index upkeep, a compaction): the same view under the new version number.
            self._remember(View(**{**self._views[self._version].__dict__, "version": snapshot.version}))
            self._version = snapshot.version
            return
        if not full:
            columns = COLUMNS + (["vector"] if snapshot.dim else [])
            changed = snapshot.articles.count_rows(filter=f"written > {self._commit}")
            if changed > REBUILD_CHANGED_SHARE * max(snapshot.documents, 1):
                full = True
            else:
                rows = snapshot.articles.to_table(columns=columns, filter=f"written > {self._commit}")
                present = set(snapshot.articles.to_table(columns=["id"]).column("id").to_pylist())
                copy.apply([rows], set(copy.slot_of) - present)
                copy.read_doc_freqs(snapshot.terms, self._commit)
        if full:
            columns = COLUMNS + (["vector"] if snapshot.dim else [])
            copy = _Copy(snapshot.dim, int(snapshot.documents * 1.25) + 16)
            written = copy.apply(snapshot.articles.to_batches(columns=columns, batch_size=BUILD_BATCH_ROWS), set())
            copy.read_doc_freqs(snapshot.terms, None)
            logger.info("search index: in-memory copy of version %d built (%d documents)", snapshot.version, written)
        self._copy, self._base, self._commit, self._version = copy, snapshot.base, snapshot.commit, snapshot.version
        self._remember(copy.view(snapshot.version, snapshot.commit))

    def _remember(self, view: View) -> None:
        views = dict(self._views)
        views[view.version] = view
        for old in sorted(views)[:-VIEWS_KEPT]:
            del views[old]
        self._views = views  # one assignment: readers in other threads see the old dict or the new

    def ready(self) -> int | None:
        """The newest version held in memory (benchmarks wait for it)."""
        return max(self._views) if self._views else None
