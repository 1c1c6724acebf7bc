"""Centered vectors (recommender.search.centering): the ranking crosses languages, while nothing-fits
and the answers' references keep reading raw cosines, and no reader applies another model's means.

Four dimensions: e0 is "Chinese", e1 "English", e2 and e3 two topics. A Chinese question on topic
e2 is nearest, raw, to a Chinese article on topic e3 (the language component dominates); centered,
to the English article on e2, which answers it."""
import json

import numpy as np
import pytest

from recommender.retrieval import FusionParams, retrieve
from recommender.search import centering, elastic
from recommender.search.base import IndexDocument
from recommender.search.documents import article_document

from .conftest import unit

MODEL = "test-model"
MEANS = centering.Centering(model=MODEL, means={"zh": np.array([0.9, 0, 0, 0], dtype=np.float32),
                                                "en": np.array([0, 0.9, 0, 0], dtype=np.float32)})
RAW = {1: unit(0.9, 0, 0, 0.4), 2: unit(0, 0.9, 0.4, 0)}  # 1: zh on topic e3; 2: en on topic e2
LANGUAGES = {1: "zh", 2: "en"}
QUESTION = unit(0.9, 0, 0.4, 0)  # zh, on topic e2
VECTOR_ONLY = {"zh": FusionParams(lexical_weight=0.0, vector_weight=1.0)}


@pytest.fixture
def means(monkeypatch):
    monkeypatch.setattr(centering, "saved", lambda: MEANS)
    return MEANS


def documents(space_means: centering.Centering | None) -> list[IndexDocument]:
    out = []
    for doc_id, vector in RAW.items():
        if space_means is None:
            vector_model = MODEL
        else:
            vector, vector_model = space_means.center(vector, LANGUAGES[doc_id]), space_means.space
        out.append(IndexDocument(doc_id, "x", language=LANGUAGES[doc_id], status="approved", published=True,
                                 vector=vector, vector_model=vector_model))
    return out


def lookup(ids):
    return {i: RAW[i] for i in ids if i in RAW}


def test_centering_takes_out_the_language_component():
    centered = MEANS.center(QUESTION, "zh")

    assert np.linalg.norm(centered) == pytest.approx(1.0)
    assert centered @ MEANS.center(RAW[2], "en") == pytest.approx(1.0, abs=0.01)  # the same topic, across languages
    assert QUESTION @ RAW[1] > QUESTION @ RAW[2]  # raw: the language wins


def test_a_centered_index_ranks_the_other_languages_answer_first_and_fits_on_raw_cosines(backend, means):
    backend.upsert(documents(means))

    result = retrieve("仓储机器人", backend=backend, query_vector=QUESTION, check_database=False, params=VECTOR_ONLY,
                      raw_vectors=lookup)

    assert result.centered and result.ids[0] == 2
    # Nothing-fits reads the raw top cosine, not the centered one (~1.0 here).
    assert result.vector_top == pytest.approx(float(QUESTION @ RAW[1]))
    # The answers choose from the raw ranking; the query vector handed on (related questions) is raw.
    assert [h.id for h in result.reference_hits][0] == 1
    assert np.allclose(result.query_vector, QUESTION)


def test_an_index_of_raw_vectors_is_queried_raw_even_with_means_at_hand(backend, means):
    backend.upsert(documents(None))  # written before the means, or by another model: its space says raw

    result = retrieve("仓储机器人", backend=backend, query_vector=QUESTION, check_database=False, params=VECTOR_ONLY,
                      raw_vectors=lookup)

    assert not result.centered and result.ids[0] == 1 and result.raw_hits is None
    assert result.vector_top == pytest.approx(float(QUESTION @ RAW[1]))


def test_the_centered_fusion_ranks_and_the_raw_fusion_orders_the_references(backend, means):
    backend.upsert(documents(means))
    params = {"zh": FusionParams(lexical_weight=1.0, vector_weight=0.0,
                                 centered=FusionParams(lexical_weight=0.0, vector_weight=1.0))}

    result = retrieve("仓储机器人", backend=backend, query_vector=QUESTION, check_database=False, params=params,
                      raw_vectors=lookup)

    assert result.ids[0] == 2  # the centered fusion, all vector
    assert result.reference_hits[0].id == 1  # the raw fusion (no lexical match: the raw cosines decide the order)


def test_without_raw_vectors_the_centered_scores_stand_in(backend, means):
    backend.upsert(documents(means))

    result = retrieve("仓储机器人", backend=backend, query_vector=QUESTION, check_database=False, params=VECTOR_ONLY)

    assert result.ids[0] == 2 and result.raw_hits is None
    assert result.vector_top == pytest.approx(float(MEANS.center(QUESTION, "zh") @ MEANS.center(RAW[2], "en")), abs=1e-4)


def test_elasticsearch_receives_the_centered_vectors(means):
    """The ES backend gets what article_document and retrieve give it: centered documents under the
    centered space's name, and a centered query vector in its knn body."""
    doc = documents(means)[1]
    source = elastic.document_source(doc)
    mapping = elastic.index_mappings(4, doc.vector_model)
    searched = {}

    class Recording(elastic.ElasticsearchBackend):
        def info(self):
            from recommender.search.base import IndexInfo
            return IndexInfo(generation="g", documents=2, vector_dim=4, vector_model=means.space)

        def search(self, tokens, vector, **kwargs):
            from recommender.search.base import SnapshotHits
            searched["vector"] = vector
            return SnapshotHits(generation="g")

    retrieve("仓储机器人", backend=Recording(client=None, prefix="lib"), query_vector=QUESTION, check_database=False)

    assert np.allclose(source["vector"], means.center(RAW[2], "en"))
    assert mapping["_meta"]["vector_model"] == means.space
    body = elastic.knn_body(list(searched["vector"]), k=5, filters=elastic.SearchFilters())["knn"]
    assert np.allclose(body["query_vector"], means.center(QUESTION, "zh"))


def test_a_space_name_says_which_means_and_which_model():
    other = centering.Centering(model=MODEL, means={"zh": np.zeros(4, dtype=np.float32) + 0.1})

    assert centering.model_of(MEANS.space) == MODEL and centering.model_of(MODEL) == MODEL
    assert MEANS.space != other.space  # re-tuned means name another space


def test_fit_keeps_languages_with_enough_vectors_and_a_pooled_mean():
    vectors = np.array([unit(1, 0, 0, 0)] * 5 + [unit(0, 1, 0, 0)] * 2)
    fitted = centering.fit(MODEL, vectors, ["zh"] * 5 + ["en"] * 2)

    assert set(fitted.means) == {"zh", centering.POOLED}
    assert np.allclose(fitted.means["zh"], unit(1, 0, 0, 0))
    # English has too few vectors for a mean of its own: the pooled mean centers it.
    assert np.allclose(fitted.center(unit(0, 1, 0, 0), "en"), fitted.center(unit(0, 1, 0, 0), centering.POOLED))


def test_saved_means_round_trip(tmp_path, monkeypatch):
    path = tmp_path / "means.json"
    monkeypatch.setattr(centering, "CENTERING_FILE", path)
    precise = centering.Centering(model=MODEL, means={"zh": np.full(4, 1 / 3, dtype=np.float32),
                                                      "en": np.full(4, 2 / 7, dtype=np.float32)})
    written = centering.save(precise, path)
    try:
        loaded = centering.saved()
        # The space a rebuild names is the one readers compute from the file (rounded as written).
        assert loaded.model == MODEL and loaded.space == written.space
        assert json.loads(path.read_text(encoding="utf-8"))["key"] == loaded.key
        assert centering.for_model(MODEL) is not None and centering.for_model("another-model") is None
        assert centering.for_space(written.space) is not None and centering.for_space(MODEL) is None
    finally:
        centering.saved.cache_clear()


@pytest.mark.django_db
def test_articles_are_centered_only_by_their_own_models_means(article_factory, means):
    from contentlib.models import Article
    from recommender.embeddings import to_bytes

    article = article_factory()
    Article.objects.filter(id=article.id).update(embedding=to_bytes(RAW[1]), embedding_model=MODEL, language="zh")
    ours = article_document(Article.objects.get(id=article.id))
    Article.objects.filter(id=article.id).update(embedding_model="another-model")
    theirs = article_document(Article.objects.get(id=article.id))

    assert ours.vector_model == MEANS.space and np.allclose(ours.vector, MEANS.center(RAW[1], "zh"))
    assert theirs.vector_model == "another-model" and np.allclose(theirs.vector, RAW[1])


@pytest.mark.django_db
def test_a_rebuilt_index_reads_raw_cosines_from_the_articles(article_factory, means):
    """Through the database: reindex writes centered vectors; retrieve recovers the raw cosine from
    Article.embedding for nothing-fits and the answers' order."""
    from contentlib import services
    from contentlib.models import Article
    from recommender.embeddings import to_bytes
    from recommender.search import search_backend, sync

    ids = {}
    for key in RAW:
        article = article_factory()
        services.article_approve(article_id=article.id)
        ids[key] = article.id
        Article.objects.filter(id=article.id).update(embedding=to_bytes(RAW[key]), embedding_model=MODEL,
                                                     language=LANGUAGES[key])
    sync.index_rebuild()
    assert search_backend().info().vector_model == MEANS.space

    result = retrieve("仓储机器人", query_vector=QUESTION, params=VECTOR_ONLY)

    assert result.centered and result.ids[0] == ids[2]
    assert result.vector_top == pytest.approx(float(QUESTION @ RAW[1]), abs=1e-5)
    assert result.reference_hits[0].id == ids[1]


def test_an_index_centered_by_older_means_of_the_model_is_centered_by_ours_with_a_warning(backend, means, caplog,
                                                                                          monkeypatch):
    from recommender import retrieval

    monkeypatch.setattr(retrieval, "_stale_spaces", set())  # said once per process
    stale = centering.Centering(model=MODEL, means={"zh": MEANS.means["zh"] * 0.99, "en": MEANS.means["en"]})
    backend.upsert(documents(stale))  # the index was centered before search_tune wrote new means

    with caplog.at_level("WARNING", logger="recommender.retrieval"):
        result = retrieve("仓储机器人", backend=backend, query_vector=QUESTION, check_database=False,
                          params=VECTOR_ONLY, raw_vectors=lookup)

    assert result.centered and result.ids[0] == 2
    assert "manage.py reindex" in caplog.text
