"""The offline evaluation (recommender/evaluation.py) on a small generated traffic, with stand-in
content vectors (the real run uses e5): the blend learns from behaviour, and the control, with
items shuffled across readers, leaves it nothing to learn."""
import numpy as np
import pytest

from contentlib import traffic
from recommender import evaluation
from recommender.blend import BlendWeights
from recommender.cooccurrence import BuildParams


def _vectors(texts):
    # Vectors from a hash of the text: content that knows nothing, so any gain is co-occurrence's.
    rng = np.random.default_rng([abs(hash(t)) % (2**32) for t in texts[:1]] or [0])
    vectors = rng.normal(size=(len(texts), 16)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def setup():
    params = traffic.params_load()
    params["readers"]["count"] = 800
    space = evaluation.space_build(_vectors, _vectors)
    sessions = evaluation.sessions_generate(params)
    return space, sessions


def test_the_blend_beats_content_on_generated_sessions_and_gains_nothing_on_the_control(setup):
    space, sessions = setup
    build = BuildParams()
    real = evaluation.prepare(sessions, space, build)
    control = evaluation.prepare(evaluation.shuffled(sessions, seed=1), space, build)
    weights = BlendWeights(cooccurrence=0.8)
    for surface in ("queries", "articles"):
        on_real = evaluation.evaluate(real, split="test", surface=surface, weights=weights, min_readers=5)
        on_control = evaluation.evaluate(control, split="test", surface=surface, weights=weights, min_readers=5)
        assert on_real["blend"]["hit"] > 1.5 * on_real["content"]["hit"]
        assert on_control["blend"]["hit"] <= on_control["content"]["hit"] + 0.02


def test_the_little_traffic_segment_is_ranked_by_content_alone(setup):
    space, sessions = setup
    prepared = evaluation.prepare(sessions, space, BuildParams())
    report = evaluation.evaluate(prepared, split="test", surface="articles", weights=BlendWeights(0.8), min_readers=50)
    little = report["little_traffic"]
    assert little["cases"] > 0 and little["blend"] == little["content"]


def test_the_split_is_by_reader_key_and_shuffling_keeps_each_sessions_shape(setup):
    _, sessions = setup
    assert {evaluation.split_of(s[0].reader_key) for s in sessions} == {"train", "dev", "test"}
    mixed = evaluation.shuffled(sessions, seed=1)
    assert [[e.kind for e in s] for s in mixed] == [[e.kind for e in s] for s in sessions]
    assert mixed != sessions


@pytest.mark.django_db
def test_the_log_s_sessions_evaluate_like_generated_ones(setup):
    """`recommend_eval --from-log`: the log's sessions with the library's stored article vectors."""
    from contentlib.models import Article
    from recommender import activity
    from recommender.embeddings import to_bytes

    space, sessions = setup
    ids = {}
    for n, corpus_id in enumerate(space.articles):
        ids[corpus_id] = Article.objects.create(title=corpus_id, text="x", origin="crawled", status="approved",
                                                embedding=to_bytes(space.article_vectors[n]),
                                                canonical_url=f"https://x.example/{corpus_id}").id
    activity.activities_write(
        activity.activity_row(kind=e.kind, reader_key=e.reader_key, at=e.at, query=e.query,
                              article_id=ids[e.article] if e.article else None)
        for s in sessions for e in s)
    logged = evaluation.sessions_from_log()
    assert len(logged) == len(sessions)
    by_text = dict(zip(space.queries, space.query_vectors))
    log_space = evaluation.space_from_log(logged, lambda texts: np.asarray([by_text[t] for t in texts]))
    # every article the sessions read, with its stored vector (an article nobody read is not in the log)
    assert sorted(log_space.articles) == sorted({str(ids[e.article]) for s in sessions for e in s if e.article})
    prepared = evaluation.prepare(logged, log_space, BuildParams())
    report = evaluation.evaluate(prepared, split="test", surface="articles", weights=BlendWeights(0.8), min_readers=5)
    assert report["cases"] > 0 and report["blend"]["hit"] > 1.5 * report["content"]["hit"]
