"""The embedded vector index's journal and snapshots: compaction keeps every reader correct."""
import numpy as np
import pytest

from recommender.search import vectors
from recommender.search.base import SearchFilters
from recommender.search.vectors import VectorRecord, VectorStore


def test_compaction_keeps_readers_correct_and_drops_old_files(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "COMPACT_MIN_RECORDS", 10)
    writer, reader = VectorStore(tmp_path), VectorStore(tmp_path)
    rng = np.random.default_rng(7)
    expected = {}
    for i in range(60):
        vector = rng.normal(size=8).astype(np.float32)
        vector /= np.linalg.norm(vector)
        expected[i % 25] = vector  # ids repeat: updates in place
        writer.write([VectorRecord(id=i % 25, vector=vector, published=True)])
    writer.write([VectorRecord.deletion(3)])
    del expected[3]

    files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("snapshot-", "journal-")))
    assert len(files) == 2  # one snapshot, one journal: compaction ran and cleaned up
    for doc_id, vector in expected.items():
        assert reader.search(vector, k=1, filters=SearchFilters())[0].id == doc_id
    assert reader.table.live_ids() == set(expected)


# --- the HNSW graph over the snapshot (GRAPH_MIN_ROWS lowered so a small library gets one)

def _random_unit(rng, n, dim=32) -> np.ndarray:
    # Clustered like real embeddings: mixtures of a few directions, so neighbours are meaningful.
    centers = rng.normal(size=(40, dim))
    vectors = centers[rng.integers(0, 40, size=n)] + rng.normal(scale=0.35, size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _exact_top(vectors_by_id: dict, query: np.ndarray, k: int, allowed=lambda doc_id: True) -> list[int]:
    ranked = sorted((doc_id for doc_id in vectors_by_id if allowed(doc_id)),
                    key=lambda doc_id: -float(vectors_by_id[doc_id] @ query))
    return ranked[:k]


@pytest.fixture
def graph_store(tmp_path, monkeypatch):
    """A store of 3,000 vectors compacted into a snapshot with a graph; 2 in 3 published."""
    monkeypatch.setattr(vectors, "GRAPH_MIN_ROWS", 1000)
    rng = np.random.default_rng(11)
    matrix = _random_unit(rng, 3000)
    store = VectorStore(tmp_path)
    store.write([VectorRecord(id=i + 1, vector=matrix[i], published=i % 3 != 0, owner_id=i % 100)
                 for i in range(len(matrix))])
    store.compact()
    return store, {i + 1: matrix[i] for i in range(len(matrix))}, rng


def test_graph_recall_at_10_against_exact_is_at_least_095(graph_store):
    store, by_id, rng = graph_store
    published = lambda doc_id: (doc_id - 1) % 3 != 0  # noqa: E731
    assert store.table.graph is not None and store.table.graph_rows == 3000
    found = 0
    queries = _random_unit(rng, 100)
    for query in queries:
        exact = _exact_top(by_id, query, 10, published)
        hits = store.search(query, k=10, filters=SearchFilters(published_only=True))
        assert all(published(h.id) for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        found += len(set(exact) & {h.id for h in hits})
    assert found / (10 * len(queries)) >= 0.95


def test_graph_is_persisted_and_a_new_reader_answers_the_same(graph_store, tmp_path):
    store, by_id, rng = graph_store
    assert len(list(tmp_path.glob("graph-*.bin"))) == 1
    reader = VectorStore(tmp_path)
    reader.refresh()
    assert reader.table.graph is not None and reader.table.graph_rows == 3000
    for query in _random_unit(rng, 20):
        assert reader.search(query, k=10, filters=SearchFilters()) == store.search(query, k=10, filters=SearchFilters())


def test_deleted_ids_are_never_returned_before_or_after_compaction(graph_store, tmp_path):
    store, by_id, rng = graph_store
    deleted = list(range(1, 301))
    store.write([VectorRecord.deletion(i) for i in deleted])
    for stage in ("journal", "compacted"):
        reader = VectorStore(tmp_path)
        for doc_id in deleted[:50]:
            hits = reader.search(by_id[doc_id], k=20, filters=SearchFilters(published_only=False))
            assert not set(deleted) & {h.id for h in hits}, stage
            assert len(hits) == 20
        store.compact()
    assert store.table.graph is not None and set(deleted).isdisjoint(store.table.live_ids())


def test_updated_and_new_vectors_are_found_with_their_new_vector(graph_store, tmp_path):
    store, by_id, rng = graph_store
    fresh = _random_unit(rng, 2)
    store.write([VectorRecord(id=5, vector=fresh[0], published=True), VectorRecord(id=9001, vector=fresh[1],
                                                                                 published=True)])
    for stage in ("journal", "compacted"):
        reader = VectorStore(tmp_path)
        top = reader.search(fresh[0], k=1, filters=SearchFilters())[0]
        assert top.id == 5 and top.score == pytest.approx(1.0, abs=1e-5), stage
        assert reader.search(fresh[1], k=1, filters=SearchFilters())[0].id == 9001, stage
        # The old vector is gone: a query for it scores id 5 by its new vector, if it finds it at all.
        for hit in reader.search(by_id[5], k=50, filters=SearchFilters()):
            if hit.id == 5:
                assert hit.score == pytest.approx(float(fresh[0] @ by_id[5]), abs=1e-5), stage
        store.compact()


def test_narrow_filter_returns_exactly_the_allowed_best(graph_store):
    """An owner's 30 articles are 1% of the snapshot: they are scanned exactly, so the answer is exact."""
    store, by_id, rng = graph_store
    mine = lambda doc_id: (doc_id - 1) % 100 == 42  # noqa: E731
    for query in _random_unit(rng, 10):
        hits = store.search(query, k=10, filters=SearchFilters(published_only=False, owner_id=42))
        assert [h.id for h in hits] == _exact_top(by_id, query, 10, mine)


def test_small_libraries_have_no_graph(tmp_path):
    store = VectorStore(tmp_path)
    store.write([VectorRecord(id=i, vector=np.eye(4, dtype=np.float32)[i % 4], published=True) for i in range(50)])
    store.compact()
    assert store.table.graph is None and not list(tmp_path.glob("graph-*"))
