"""The backend contract: the same behaviour from every engine (embedded always, Elasticsearch when
ELASTICSEARCH_URL is set). Filters are checked against `SearchFilters.matches`, their one meaning."""
import itertools

import numpy as np
import pytest

from contentlib.errors import ApplicationError
from recommender.search.base import IndexDocument, SearchFilters

from .conftest import unit

pytestmark = pytest.mark.django_db


def ids(hits):
    return [h.id for h in hits]


def test_lexical_ranks_matching_published_documents_by_bm25(backend, library_docs):
    backend.upsert(library_docs)

    hits = backend.lexical(["仓储"], k=10)

    # 1 holds the term twice and 2 once; 4 matches but is not published.
    assert ids(hits) == [1, 2]
    assert hits[0].score > hits[1].score > 0


def test_lexical_matches_any_term_and_is_case_insensitive(backend, library_docs):
    backend.upsert(library_docs)

    assert set(ids(backend.lexical(["AGV"], k=10))) == {1, 3}
    assert set(ids(backend.lexical(["bonds", "robot"], k=10))) == set()  # whole tokens only, no stemming
    assert set(ids(backend.lexical(["green", "freight"], k=10))) == {5, 6}


FILTER_CASES = [
    SearchFilters(),
    SearchFilters(published_only=False),
    SearchFilters(language="zh"),
    SearchFilters(language="en", category="logistics"),
    SearchFilters(owner_id=7),
    SearchFilters(published_only=False, owner_id=7, language="zh"),
    SearchFilters(origin="crawled"),
    SearchFilters(category="no-such-category"),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=str)
def test_filters_return_exactly_the_matching_documents(backend, library_docs, filters):
    backend.upsert(library_docs)
    expected = {d.id for d in library_docs if filters.matches(d)}

    lexical = set(ids(backend.lexical(["仓储", "agv", "warehouse", "green", "cold", "保理"], k=50, filters=filters)))
    vector = set(ids(backend.vector(unit(1, 1, 1, 1), k=50, filters=filters)))

    assert lexical == expected
    assert vector == {d.id for d in library_docs if filters.matches(d) and d.vector is not None}


def test_vector_search_orders_by_cosine_and_reports_it(backend, library_docs):
    backend.upsert(library_docs)

    hits = backend.vector(unit(1, 0, 0, 0), k=3)

    assert ids(hits) == [1, 3, 2]
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert hits[1].score == pytest.approx(0.8, abs=1e-3)


def test_upsert_replaces_and_delete_removes(backend, library_docs):
    backend.upsert(library_docs)
    changed = IndexDocument(1, "冷链 疫苗", "冷链", "zh", "medical", None, "crawled", "approved", True, unit(0, 0, 0, 1))

    backend.upsert([changed])
    backend.delete([3, 999])

    assert 1 not in ids(backend.lexical(["仓储"], k=10))
    assert ids(backend.lexical(["冷链"], k=10)) == [1]
    assert ids(backend.vector(unit(0, 0, 0, 1), k=1)) == [1]
    assert 3 not in ids(backend.lexical(["agv"], k=10, filters=SearchFilters(published_only=False)))
    assert 3 not in backend.ids()
    assert backend.fetch([1])[1].category == "medical"


def test_unpublishing_hides_a_document_from_both_rankings(backend, library_docs):
    backend.upsert(library_docs)
    rejected = library_docs[0]
    rejected.published, rejected.status = False, "rejected"

    backend.upsert([rejected])

    assert 1 not in ids(backend.lexical(["仓储"], k=10))
    assert 1 not in ids(backend.vector(unit(1, 0, 0, 0), k=10))


def test_fetch_returns_stored_documents_by_id(backend, library_docs):
    backend.upsert(library_docs)

    found = backend.fetch([2, 6, 404])

    assert set(found) == {2, 6}
    assert found[2].owner_id == 7 and found[2].language == "zh" and found[2].tokens.startswith("仓储 保理")
    assert np.allclose(found[2].vector, unit(0, 1, 0, 0), atol=1e-5)
    assert found[6].vector is None and found[6].owner_id is None


def test_more_like_this_finds_documents_sharing_tokens_without_itself(backend, library_docs):
    backend.upsert(library_docs)

    hits = ids(backend.more_like_this(1, k=10))

    assert 1 not in hits
    assert set(hits) <= {2, 3}  # 4 shares most but is unpublished
    assert hits and hits[0] in (2, 3)
    assert backend.more_like_this(404) == []


def test_term_stats_count_documents_per_term(backend, library_docs):
    backend.upsert(library_docs)

    total, freqs = backend.term_stats(["仓储", "agv", "unknown"])

    assert total == len(library_docs)
    assert freqs == {"仓储": 3, "agv": 3, "unknown": 0}


def test_rebuild_replaces_the_whole_index(backend, library_docs):
    backend.upsert(library_docs)

    result = backend.rebuild([library_docs[:2], library_docs[4:5]])

    assert result.indexed == 3
    assert backend.ids() == {1, 2, 5}
    assert ids(backend.vector(unit(0, 0, 1, 0), k=1)) == [5]


ODD_QUERIES = ["", " ", '" * : ( ) AND OR NOT', "AND", "*", ":", "(仓储", "😀🚚", "仓储 warehouse ロボット 🤖",
               "x" * 10_000, "仓储" * 5000, "\x00", "title:仓储", "agv~2", "[1 TO 5]", "/regex/"]


@pytest.mark.parametrize("text", ODD_QUERIES, ids=lambda t: repr(t[:20]))
def test_odd_query_text_returns_results_or_nothing(backend, library_docs, text):
    from recommender.text import tokenize

    backend.upsert(library_docs)

    hits = backend.lexical(tokenize(text), k=10)

    assert all(h.id in {1, 2, 3, 5, 6} for h in hits)


@pytest.mark.parametrize("vector", [np.zeros(4), np.full(4, np.nan), np.ones(7), np.ones(0)], ids=str)
def test_odd_query_vectors_return_nothing(backend, library_docs, vector):
    backend.upsert(library_docs)

    assert backend.vector(vector.astype(np.float32), k=5) == [] or all(
        h.id in {1, 2, 3, 5} for h in backend.vector(vector.astype(np.float32), k=5)
    )


def test_an_empty_index_answers_everything_with_nothing(backend):
    assert backend.lexical(["仓储"]) == []
    assert backend.vector(unit(1, 0, 0, 0)) == []
    assert backend.fetch([1]) == {}
    assert backend.more_like_this(1) == []
    assert backend.ids() == set()


def test_k_limits_and_orders_results(backend, library_docs):
    backend.upsert(library_docs)

    hits = backend.lexical(["仓储", "agv", "warehouse"], k=2, filters=SearchFilters(published_only=False))

    assert len(hits) == 2
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert backend.lexical(["仓储"], k=0) == []


def test_filter_combinations_agree_between_rankings(backend, library_docs):
    """Every combination of filter values: lexical and vector see the same candidate set."""
    backend.upsert(library_docs)
    for published_only, language, owner in itertools.product((True, False), (None, "zh", "en"), (None, 7)):
        filters = SearchFilters(published_only=published_only, language=language, owner_id=owner)
        with_vectors = {d.id for d in library_docs if filters.matches(d) and d.vector is not None}
        assert set(ids(backend.vector(unit(1, 1, 1, 1), k=50, filters=filters))) == with_vectors


def test_embedding_dimension_change_is_refused_with_advice(tmp_path, library_docs):
    from recommender.search.embedded import EmbeddedBackend

    engine = EmbeddedBackend(tmp_path / "idx")
    engine.upsert(library_docs)
    odd = IndexDocument(9, "新 模型", vector=np.ones(8, dtype=np.float32) / np.sqrt(8))

    with pytest.raises(ApplicationError, match="reindex"):
        engine.upsert([odd])

    assert 9 not in engine.ids()  # nothing half-written
