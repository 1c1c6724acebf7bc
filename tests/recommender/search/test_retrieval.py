"""Retrieval for readers: fusion, the nothing-fits signal, odd input, and cross-process freshness."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from recommender.retrieval import FusionParams, answer_terms, fuse, retrieve
from recommender.search.base import Hit
from recommender.search.embedded import EmbeddedBackend

from .conftest import unit

ODD_QUERIES = ["", "   ", '" * : ( ) AND OR NOT', "NOT", "😀🚚📦", "仓储 warehouse ロボット 🤖 склад",
               "x" * 10_000, "仓储 " * 3000, "\x00\x01", "title:仓储 OR (agv AND 冷链)"]


@pytest.fixture
def index(tmp_path, library_docs):
    backend = EmbeddedBackend(tmp_path / "idx")
    backend.upsert(library_docs)
    return backend


def test_weighted_fusion_follows_the_language_weights():
    lexical = [Hit(1, 6.0), Hit(2, 3.0)]
    vector = [Hit(2, 0.9), Hit(3, 0.8)]

    lexical_heavy = fuse(lexical, vector, normalizer=6.0, params=FusionParams(lexical_weight=1.0, vector_weight=0.0))
    vector_heavy = fuse(lexical, vector, normalizer=6.0, params=FusionParams(lexical_weight=0.2, vector_weight=0.8))

    assert [h.id for h in lexical_heavy][:2] == [1, 2]
    assert [h.id for h in vector_heavy] == [2, 3, 1]
    assert vector_heavy[0].lexical == pytest.approx(0.5) and vector_heavy[0].vector == pytest.approx(0.9)


def test_rrf_rewards_documents_both_rankings_agree_on():
    fused = fuse([Hit(1, 9.0), Hit(2, 1.0)], [Hit(2, 0.5), Hit(3, 0.4)], normalizer=1.0,
                 params=FusionParams(method="rrf", lexical_weight=1.0, vector_weight=1.0, rrf_k=60))

    assert fused[0].id == 2


def test_hybrid_uses_the_language_weights(index):
    # zh leans lexical, en leans vector: the same query vector ranks differently by language.
    params = {"zh": FusionParams(lexical_weight=1.0, vector_weight=0.0),
              "en": FusionParams(lexical_weight=0.0, vector_weight=1.0)}

    zh = retrieve("智能仓储AGV小车", backend=index, query_vector=unit(0, 0, 1, 0), check_database=False, params=params)
    en = retrieve("warehouse robots agv", backend=index, query_vector=unit(0, 0, 1, 0), check_database=False,
                  params=params)

    assert zh.language == "zh" and zh.ids[0] == 1
    assert en.language == "en" and en.ids[0] == 5


def test_nothing_fits_comes_from_raw_top_scores(index):
    params = {"en": FusionParams(lexical_weight=0.5, vector_weight=0.5, fit_coef=(-4.0, 2.0, 4.0), fit_threshold=0.5)}

    close = retrieve("green bond allocation report", backend=index, query_vector=unit(0, 0, 1, 0),
                     check_database=False, params=params)
    far = retrieve("lithium battery swapping rules", backend=index, query_vector=unit(0, 0, 0, 1),
                   check_database=False, params=params)

    assert not close.nothing_fits and close.fit_probability > 0.5
    assert far.nothing_fits and far.fit_probability < 0.5
    assert far.lexical_top == 0.0


@pytest.mark.parametrize("mode", ["lexical", "vector", "hybrid"])
@pytest.mark.parametrize("text", ODD_QUERIES, ids=lambda t: repr(t[:16]))
def test_odd_queries_return_results_or_nothing(index, text, mode):
    result = retrieve(text, backend=index, mode=mode, query_vector=unit(1, 1, 0, 0), check_database=False)

    assert set(result.ids) <= {1, 2, 3, 5, 6}
    assert (not text.strip()) <= (result.ids == [])


@pytest.mark.django_db
def test_odd_queries_through_the_real_encoder(index):
    """The bundled model encodes whatever readers type; retrieval never raises on it."""
    for text in ODD_QUERIES:
        result = retrieve(text, backend=index, mode="hybrid", check_database=False)
        assert isinstance(result.ids, list)


def test_a_commit_in_another_process_is_seen_at_the_next_query(tmp_path, library_docs):
    reader = EmbeddedBackend(tmp_path / "shared")
    reader.upsert(library_docs[:1])
    assert [h.id for h in reader.lexical(["保理"])] == []

    writer = textwrap.dedent(f"""
        import django, os, numpy as np
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
        django.setup()
        from recommender.search.embedded import EmbeddedBackend
        from recommender.search.base import IndexDocument
        EmbeddedBackend({str(tmp_path / "shared")!r}).upsert([IndexDocument(
            2, "仓储 保理 融资", published=True, vector=np.array([0, 1, 0, 0], dtype=np.float32))])
    """)
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)

    assert [h.id for h in reader.lexical(["保理"])] == [2]
    assert [h.id for h in reader.vector(unit(0, 1, 0, 0), k=1)] == [2]


def test_concurrent_writers_in_two_processes_lose_nothing(tmp_path):
    """The flock makes writers take turns; every upsert from both processes lands."""
    script = textwrap.dedent("""
        import django, os, sys, numpy as np
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
        django.setup()
        from recommender.search.embedded import EmbeddedBackend
        from recommender.search.base import IndexDocument
        backend = EmbeddedBackend(sys.argv[1])
        start = int(sys.argv[2])
        for i in range(start, start + 15):
            vector = np.zeros(4, dtype=np.float32); vector[i % 4] = 1
            backend.upsert([IndexDocument(i, f"doc{i} 共享", published=True, vector=vector)])
    """)
    directory = str(tmp_path / "contended")
    workers = [subprocess.Popen([sys.executable, "-c", script, directory, str(start)]) for start in (0, 100)]
    assert [w.wait(timeout=180) for w in workers] == [0, 0]

    backend = EmbeddedBackend(directory)
    expected = set(range(15)) | set(range(100, 115))
    assert backend.ids() == expected
    assert {h.id for h in backend.vector(unit(1, 1, 1, 1), k=100)} == expected
    assert len(backend.lexical(["共享"], k=100)) == 30


def test_without_a_vector_score_the_lexical_only_model_decides(index, monkeypatch):
    """A vector-heavy fit would call everything unfit when no vector score exists (lexical mode, or
    the embedding model failing); the lexical-only model decides then."""
    params = {"en": FusionParams(fit_coef=(-100.0, 1.0, 120.0), fit_threshold=0.5,
                                 lexical_fit_coef=(-4.0, 8.0), lexical_fit_threshold=0.5)}
    monkeypatch.setattr("recommender.retrieval._query_vector", lambda text, model="": None)  # the model is down

    for mode in ("lexical", "hybrid"):
        close = retrieve("green bond allocation report", backend=index, mode=mode, check_database=False, params=params)
        far = retrieve("lithium battery swapping rules", backend=index, mode=mode, check_database=False, params=params)
        assert close.vector_top is None and close.ids and not close.nothing_fits
        assert far.nothing_fits
    with_vector = retrieve("green bond allocation report", backend=index, query_vector=unit(0, 0, 0, 1),
                           check_database=False, params=params)
    assert with_vector.vector_top is not None and with_vector.nothing_fits, "the vector model applies when it can"


def test_answer_terms_are_the_answers_most_specific_terms_the_question_lacks():
    freqs = {"仓储": 50, "保理": 3, "融资": 10, "账款": 2, "的": 99}
    tokens = ["仓储", "保理", "保理", "融资", "的", "的", "账款", "没有"]
    assert answer_terms(tokens, {"仓储"}, 100, freqs, count=3) == ["保理", "账款", "融资"]


def test_an_answers_terms_lift_the_article_it_speaks_of(index):
    """'仓储' alone ranks the AGV article first; an answer about receivables financing lifts the factoring one."""
    params = {"zh": FusionParams(lexical_weight=1.0, vector_weight=0.0, answer_lexical_weight=1.0)}
    answer = "仓储企业可以用应收账款做保理融资，把账款提前变现。"

    alone = retrieve("仓储", backend=index, query_vector=unit(0, 0, 0, 1), check_database=False, params=params)
    answered = retrieve("仓储", answer=answer, backend=index, query_vector=unit(0, 0, 0, 1), check_database=False,
                        params=params)

    assert alone.ids[0] == 1 and answered.ids[0] == 2


def test_an_answers_vector_is_added_to_the_questions(index):
    params = {"en": FusionParams(lexical_weight=0.0, vector_weight=1.0, answer_vector_weight=1.0)}

    alone = retrieve("zzz", backend=index, query_vector=unit(1, 0, 0, 0), check_database=False, params=params)
    answered = retrieve("zzz", answer="qqq", answer_vector=unit(0, 1, 0, 0), backend=index,
                        query_vector=unit(1, 0, 0, 0), check_database=False, params=params)

    assert alone.ids[0] in (1, 4) and answered.ids[0] == 3  # (0.8, 0.6) is nearest to (1, 1)/√2


def test_with_zero_weights_an_answer_changes_nothing(index):
    params = {"zh": FusionParams(lexical_weight=0.5, vector_weight=0.5)}
    kwargs = dict(backend=index, query_vector=unit(0.3, 0.7, 0, 0), check_database=False, params=params)

    alone = retrieve("仓储", **kwargs)
    answered = retrieve("仓储", answer="保理 融资 应收 账款", answer_vector=unit(0, 0, 1, 0), **kwargs)

    assert answered.ids == alone.ids and [h.score for h in answered.hits] == [h.score for h in alone.hits]


def test_whether_anything_fits_is_judged_from_the_question_alone(index):
    """An on-topic answer written from general knowledge must not make a question the library cannot
    answer look answered."""
    params = {"en": FusionParams(lexical_weight=0.5, vector_weight=0.5, fit_coef=(-4.0, 2.0, 4.0), fit_threshold=0.5,
                                 answer_lexical_weight=1.0, answer_vector_weight=1.0)}
    far = dict(backend=index, query_vector=unit(0, 0, 0, 1), check_database=False, params=params)

    alone = retrieve("lithium battery swapping rules", **far)
    answered = retrieve("lithium battery swapping rules", answer="A green bond allocation report lists the projects.",
                        answer_vector=unit(0, 0, 1, 0), **far)

    assert answered.ids[0] == 5  # the answer found the bonds article...
    assert alone.nothing_fits and answered.nothing_fits  # ...but the question is still not answered by it
    assert answered.fit_probability == alone.fit_probability


def test_an_extractive_answer_has_its_own_weights(index):
    """An extractive answer quotes the question's own first references: with its weights at zero it
    ranks exactly as the question alone, while a written answer with the same text still moves it."""
    params = {"zh": FusionParams(lexical_weight=1.0, vector_weight=0.0, answer_lexical_weight=1.0,
                                 extractive_answer_lexical_weight=0.0, extractive_answer_vector_weight=0.0)}
    answer = "仓储企业可以用应收账款做保理融资，把账款提前变现。"
    kwargs = dict(backend=index, query_vector=unit(0, 0, 0, 1), check_database=False, params=params)

    alone = retrieve("仓储", **kwargs)
    written = retrieve("仓储", answer=answer, answer_kind="written", **kwargs)
    extractive = retrieve("仓储", answer=answer, answer_kind="extractive", **kwargs)

    assert written.ids[0] == 2 and written.ids != alone.ids
    assert extractive.ids == alone.ids and [h.score for h in extractive.hits] == [h.score for h in alone.hits]


def test_an_extractive_answers_weights_apply_when_set(index):
    params = {"zh": FusionParams(lexical_weight=1.0, vector_weight=0.0, extractive_answer_lexical_weight=1.0)}
    answer = "仓储企业可以用应收账款做保理融资，把账款提前变现。"

    answered = retrieve("仓储", answer=answer, answer_kind="extractive", backend=index, query_vector=unit(0, 0, 0, 1),
                        check_database=False, params=params)

    assert answered.ids[0] == 2


def test_an_unknown_answer_kind_is_refused(index):
    with pytest.raises(ValueError, match="answer_kind"):
        retrieve("仓储", answer="保理", answer_kind="llm", backend=index, check_database=False)


def test_the_query_is_encoded_while_the_lexical_side_runs(index, monkeypatch):
    """retrieve() hands the backend the query vector as a Future: the lexical side runs while the
    query is still being encoded, and the vector side waits for it."""
    import threading

    from recommender import retrieval

    lexical_done = threading.Event()
    overlapped = []
    lexical = EmbeddedBackend._lexical

    def lexical_then_signal(self, *args, **kwargs):
        hits = lexical(self, *args, **kwargs)
        lexical_done.set()
        return hits

    def encode(text, model=""):
        overlapped.append(lexical_done.wait(timeout=5))  # sequential code would wait here in vain
        return unit(1, 0, 0, 0)

    monkeypatch.setattr(EmbeddedBackend, "_lexical", lexical_then_signal)
    monkeypatch.setattr(retrieval, "_query_vector", encode)

    found = retrieve("智能仓储", backend=index, check_database=False)

    assert overlapped == [True]
    assert found.query_vector is not None and found.ids[0] == 1
    assert {1, 3} <= set(found.ids)  # 3 only by its vector (unit(0.8, 0.6, 0, 0)): the vector side ran


def test_an_encoder_failure_reaches_the_caller_through_the_future(index, monkeypatch):
    from recommender import retrieval

    def broken(*args, **kwargs):
        raise ValueError("the encoder broke")

    monkeypatch.setattr(retrieval, "_index_vectors", broken)
    with pytest.raises(ValueError, match="the encoder broke"):
        retrieve("智能仓储", backend=index, check_database=False)
