"""The embedded engine's in-memory copy (recommender/search/memory.py): it answers like Lance, from
exactly the committed version the query reads, follows commits, rebuilds and old-format indexes, and
leaves narrow filters to Lance. The contract suite runs on it too (the `embedded_memory` backend)."""
import time

import numpy as np
import pytest

from recommender.search import embedded
from recommender.search.base import IndexDocument, SearchFilters
from recommender.search.embedded import EmbeddedBackend

WORDS = ["仓储", "冷链", "agv", "融资", "保理", "robot", "展会", "医药", "green", "bond"]
DIM = 16


def library(rng, n: int, start: int = 1) -> list[IndexDocument]:
    docs = []
    for doc_id in range(start, start + n):
        vector = rng.normal(size=DIM).astype(np.float32)
        docs.append(IndexDocument(doc_id, " ".join(rng.choice(WORDS, size=int(rng.integers(3, 9)))),
                                  language="zh" if doc_id % 2 else "en", published=bool(doc_id % 4),
                                  vector=vector / np.linalg.norm(vector), vector_model="m"))
    return docs


def unit(rng) -> np.ndarray:
    vector = rng.normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def memory(monkeypatch):
    """Every query of a backend made after this answers from the copy, caught up inside the query."""
    monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
    monkeypatch.setattr(embedded, "MEMORY_INDEX_SYNC", True)


def lance_only(backend: EmbeddedBackend, monkeypatch) -> None:
    """Makes any Lance query side raise, so a passing search proves the copy answered it."""
    def refuse(*args, **kwargs):
        raise AssertionError("Lance was asked")

    monkeypatch.setattr(backend, "_lexical", refuse)
    monkeypatch.setattr(EmbeddedBackend, "_filtered", staticmethod(refuse))


def test_the_copy_answers_as_lance_does(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    docs = library(rng, 400)
    lance_backend = EmbeddedBackend(tmp_path / "lance")
    lance_backend.upsert(docs)
    monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
    monkeypatch.setattr(embedded, "MEMORY_INDEX_SYNC", True)
    memory_backend = EmbeddedBackend(tmp_path / "memory")
    memory_backend.upsert(docs)
    for filters in (SearchFilters(), SearchFilters(published_only=False)):
        for _ in range(20):
            terms = list(rng.choice(WORDS, size=2, replace=False))
            vector = unit(rng)
            monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 10**9)
            expected = lance_backend.search(terms, vector, k=400, filters=filters)
            monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
            found = memory_backend.search(terms, vector, k=400, filters=filters)

            # Every matching document, each with Lance's score (BM25 within tantivy's rounding of
            # document lengths; the cosine exactly).
            assert {h.id for h in found.lexical} == {h.id for h in expected.lexical}
            lexical = {h.id: h.score for h in expected.lexical}
            assert all(h.score == pytest.approx(lexical[h.id], rel=0.05) for h in found.lexical)
            assert [h.id for h in found.vector] == [h.id for h in expected.vector]
            assert [h.score for h in found.vector] == pytest.approx([h.score for h in expected.vector], abs=1e-5)
            assert found.doc_freqs == expected.doc_freqs
    assert memory_backend.memory_ready() == int(memory_backend.info().generation)


def test_a_query_reads_the_copy_of_its_own_version_only(tmp_path, memory, monkeypatch):
    rng = np.random.default_rng(8)
    backend = EmbeddedBackend(tmp_path / "index")
    first = backend.upsert(library(rng, 50)).generation
    backend.search(["仓储"], unit(rng), k=10)
    old_view = backend._memory._views[int(first)]
    everything = SearchFilters(published_only=False)
    before = {h for h, _ in old_view.lexical(["仓储"], 100, False)}

    replaced = IndexDocument(1, "独有 仓储", published=True, vector=unit(rng))
    second = backend.upsert([replaced, IndexDocument(999, "独有", published=True, vector=unit(rng))]).generation
    backend.delete([2, 3])
    lance_only(backend, monkeypatch)
    found = backend.search(["独有"], replaced.vector, k=10, filters=everything)

    assert {h.id for h in found.lexical} == {1, 999}
    assert found.vector[0].id == 1 and found.vector[0].score == pytest.approx(1.0, abs=1e-4)
    assert found.generation == backend.info().generation != second
    # The view of the first version still reads it: the new words, the new document and the
    # deletions are not in it, and the documents deleted since are.
    assert old_view.lexical(["独有"], 10, False) == []
    assert {h for h, _ in old_view.lexical(["仓储"], 100, False)} == before
    assert {2, 3} <= {h for h, _ in old_view.vector(unit(rng), 60, False)}
    assert 999 not in {h for h, _ in old_view.vector(unit(rng), 60, False)}


def test_narrow_filters_are_left_to_lance(tmp_path, memory, monkeypatch):
    rng = np.random.default_rng(9)
    backend = EmbeddedBackend(tmp_path / "index")
    docs = library(rng, 60)
    backend.upsert(docs)
    asked = []
    original = EmbeddedBackend._filtered

    def counted(scan, k, where, selective, documents):
        asked.append(where)
        return original(scan, k, where, selective, documents)

    monkeypatch.setattr(EmbeddedBackend, "_filtered", staticmethod(counted))
    filters = SearchFilters(language="zh")
    found = backend.search(["仓储", "冷链"], unit(rng), k=60, filters=filters)

    assert asked and all("language = 'zh'" in where for where in asked)
    assert {h.id for h in found.vector} == {d.id for d in docs if filters.matches(d)}


def test_the_copy_follows_commits_in_the_background(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
    rng = np.random.default_rng(10)
    backend = EmbeddedBackend(tmp_path / "index")
    backend.upsert(library(rng, 100))
    for round_ in range(3):
        generation = backend.upsert([IndexDocument(500 + round_, f"新词{round_}", published=True,
                                                   vector=unit(rng))]).generation
        # The first query after a commit is Lance's (the copy is behind) and already sees it.
        assert [h.id for h in backend.lexical([f"新词{round_}"], k=5)] == [500 + round_]
        deadline = time.monotonic() + 60
        while backend.memory_ready() != int(generation) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert backend.memory_ready() == int(generation), backend._memory.failed
        with monkeypatch.context() as patch:
            lance_only(backend, patch)
            assert [h.id for h in backend.lexical([f"新词{round_}"], k=5)] == [500 + round_]


def test_a_rebuild_with_another_model_is_copied_anew(tmp_path, memory, monkeypatch):
    rng = np.random.default_rng(11)
    backend = EmbeddedBackend(tmp_path / "index")
    backend.upsert(library(rng, 30))
    backend.search(["仓储"], unit(rng), k=5)
    wide = np.ones(32, dtype=np.float32) / np.sqrt(32)
    backend.rebuild([[IndexDocument(i, "重建", published=True, vector=wide, vector_model="new") for i in (7, 8)]])
    lance_only(backend, monkeypatch)

    found = backend.search(["重建", "仓储"], wide, k=10)

    assert {h.id for h in found.lexical} == {h.id for h in found.vector} == {7, 8}
    assert found.vector_dim == 32
    assert backend.search([], unit(rng), k=10).vector == []  # the old model's vectors find nothing


def test_many_replacements_rebuild_the_copy(tmp_path, memory):
    rng = np.random.default_rng(12)
    backend = EmbeddedBackend(tmp_path / "index")
    docs = library(rng, 40)
    backend.upsert(docs)
    for round_ in range(6):
        for doc in docs[:10]:
            doc.tokens = f"轮{round_}"
        backend.upsert(docs[:10])
        found = backend.lexical([f"轮{round_}"], k=50, filters=SearchFilters(published_only=False))
        assert {h.id for h in found} == {d.id for d in docs[:10]}
        if round_:
            assert backend.lexical([f"轮{round_ - 1}"], k=50) == []
    copy = backend._memory._copy
    assert copy.dead <= 0.3 * copy.slots + 10, "dead slots are dropped by a new copy"


def test_an_index_written_before_commits_were_numbered_is_searched_then_rewritten(tmp_path, memory, monkeypatch):
    rng = np.random.default_rng(13)
    backend = EmbeddedBackend(tmp_path / "index")
    docs = library(rng, 30)
    backend.upsert(docs)
    # What an index of the previous release looks like: no `written` column, no commit numbers.
    articles = embedded.lance.dataset(backend.articles_uri)
    articles.drop_columns(["written"])
    config = articles.config()
    articles.delete_config_keys([embedded._COMMIT, embedded._BASE_COMMIT])
    embedded._retag(articles, articles.version)
    assert embedded._COMMIT in config
    reader = EmbeddedBackend(tmp_path / "index")

    assert {h.id for h in reader.lexical(["仓储"], k=50)} == {d.id for d in docs if "仓储" in d.tokens and d.published}
    assert reader.memory_ready() is None  # Lance answered: the copy needs commit numbers

    reader.upsert([IndexDocument(77, "新 仓储", published=True, vector=unit(rng))])
    lance_only(reader, monkeypatch)
    found = reader.lexical(["仓储"], k=50)
    assert {h.id for h in found} == {d.id for d in docs if "仓储" in d.tokens and d.published} | {77}
    assert "written" in embedded.lance.dataset(reader.articles_uri).schema.names


def test_documents_without_a_vector_are_found_by_words_only(tmp_path, memory):
    backend = EmbeddedBackend(tmp_path / "index")
    rng = np.random.default_rng(14)
    backend.upsert(library(rng, 20) + [IndexDocument(50, "无向量", published=True)])

    assert [h.id for h in backend.lexical(["无向量"], k=5)] == [50]
    assert 50 not in {h.id for h in backend.vector(unit(rng), k=50)}


def test_term_statistics_follow_commits_in_the_copy(tmp_path, memory, monkeypatch):
    rng = np.random.default_rng(15)
    backend = EmbeddedBackend(tmp_path / "index")
    backend.upsert(library(rng, 30) + [IndexDocument(i, "稀有 词", published=True) for i in (101, 102, 103)])
    assert backend.term_stats(["稀有"])[1] == {"稀有": 3}
    backend.delete([101, 102])
    backend.upsert([IndexDocument(103, "改写", published=True), IndexDocument(104, "改写 词", published=False)])
    lance_only(backend, monkeypatch)
    monkeypatch.setattr(backend, "_doc_freqs", lambda *a: (_ for _ in ()).throw(AssertionError("Lance was asked")))

    documents, freqs = backend.term_stats(["稀有", "改写", "词"])

    assert freqs == {"稀有": 0, "改写": 2, "词": 1} and documents == 32


def test_a_fault_of_the_copy_is_logged_and_lance_answers(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
    rng = np.random.default_rng(16)
    backend = EmbeddedBackend(tmp_path / "index")
    docs = library(rng, 40)
    generation = backend.upsert(docs).generation
    backend.search(["仓储"], None, k=1)
    deadline = time.monotonic() + 60
    while backend.memory_ready() != int(generation) and time.monotonic() < deadline:
        time.sleep(0.02)

    def broken(*args, **kwargs):
        raise RuntimeError("Cannot return the results in a contiguous 2D array")

    monkeypatch.setattr(embedded.View, "vector", broken)
    found = backend.search(["仓储"], docs[0].vector, k=5, filters=SearchFilters(published_only=False))

    assert found.vector[0].id == docs[0].id
    assert {h.id for h in found.lexical} <= {d.id for d in docs if "仓储" in d.tokens}
    assert "the in-memory copy failed a query; Lance answers it" in caplog.text


def test_the_sites_backend_takes_its_threshold_from_the_settings(tmp_path, settings):
    from recommender.search import search_backend, search_backend_reset

    settings.SEARCH_BACKEND, settings.SEARCH_INDEX_DIR, settings.SEARCH_MEMORY_MIN_ROWS = "embedded", tmp_path, 10**9
    search_backend_reset()
    try:
        backend = search_backend()
        backend.upsert(library(np.random.default_rng(17), 20))
        backend.search(["仓储"], None, k=5)
        assert backend.memory_min_rows == 10**9 and backend._memory is None  # turned off: Lance only
        settings.SEARCH_MEMORY_MIN_ROWS = 0
        assert search_backend() is not backend and search_backend().memory_min_rows == 0
    finally:
        search_backend_reset()


def test_a_failed_catch_up_leaves_lance_answering_and_the_next_try_builds_anew(tmp_path, monkeypatch):
    from recommender.search import memory

    monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
    monkeypatch.setattr(memory, "RETRY_SECONDS", 0)
    rng = np.random.default_rng(18)
    backend = EmbeddedBackend(tmp_path / "index")
    first = backend.upsert(library(rng, 30)).generation

    def wait_for(generation):
        deadline = time.monotonic() + 60
        while backend.memory_ready() != int(generation) and time.monotonic() < deadline:
            backend.search(["仓储"], None, k=1)
            time.sleep(0.02)
        return backend.memory_ready()

    assert wait_for(first) == int(first)
    apply = memory._Copy.apply

    def broken(self, batches, deleted):
        raise OSError("no memory left")

    monkeypatch.setattr(memory._Copy, "apply", broken)
    second = backend.upsert([IndexDocument(500, "新增", published=True, vector=unit(rng))]).generation
    found = backend.lexical(["新增"], k=5)
    backend._memory._worker.join(timeout=60)

    assert [h.id for h in found] == [500]  # Lance answered
    assert "no memory left" in backend._memory.failed and backend._memory._copy is None
    monkeypatch.setattr(memory._Copy, "apply", apply)
    assert wait_for(second) == int(second)
    with monkeypatch.context() as patch:
        lance_only(backend, patch)
        assert [h.id for h in backend.lexical(["新增"], k=5)] == [500]
