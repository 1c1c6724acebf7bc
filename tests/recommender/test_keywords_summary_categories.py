"""Keywords, summaries and categories on real text."""
import pytest

from contentlib import corpus
from recommender import categories, keywords, summary
from recommender.text import tokenize

COLD_CHAIN = (
    "冷链物流是生鲜电商的生命线。产地预冷做不好，后面的冷链物流再贵也救不回损耗。"
    "一家水果企业在产地建了预冷库，冷链物流的损耗率从百分之十五降到百分之六。"
    "冷藏车的温度监测数据接入了运输管理系统，冷链物流全程可追溯。"
)


def test_repeated_compound_beats_its_parts():
    found, method = keywords.extract(title="冷链物流降损耗", text=COLD_CHAIN, language="zh")
    texts = [k.text for k in found]
    assert texts[0] == "冷链物流"
    assert method == "tfidf+mmr:lexical"
    assert found[0].weight == 1.0 and all(0 < k.weight <= 1.0 for k in found)


def test_mmr_keeps_near_duplicates_out_of_the_top():
    found, _ = keywords.extract(title="冷链物流降损耗", text=COLD_CHAIN, language="zh")
    top = [k.text for k in found[:3]]
    assert not ("冷链" in top and "冷链物流" in top), top


def test_english_phrases_up_to_three_words_with_embedding_similarity():
    text = ("Predictive maintenance is cheap when vibration sensors are already installed. "
            "Predictive maintenance at the stamping line cut downtime. The stamping line runs two shifts; "
            "vibration sensors report every minute.")
    calls = []

    def embed(phrases):
        import numpy as np
        calls.append(list(phrases))
        vectors = np.eye(len(phrases), dtype="float32")
        return vectors

    found, method = keywords.extract(title="Predictive maintenance", text=text, language="en", embed=embed)
    texts = [k.text for k in found]
    assert "predictive maintenance" in texts[:2]
    assert "stamping line" in texts and "vibration sensors" in texts
    assert method == "tfidf+mmr:embedding" and calls, "English MMR asks the embedding model for similarity"
    assert all(len(t.split()) <= 3 for t in texts)


@pytest.mark.django_db
def test_library_idf_prefers_terms_rare_in_the_library():
    common = "行业，发展，企业。" * 3
    keywords.fit_idf([keywords.candidates(f"企业 发展 行业 {i}") for i in range(20)] + [keywords.candidates("冷藏车")])
    found, _ = keywords.extract(title="", text=f"{common} 冷藏车 冷藏车", language="zh")
    assert found[0].text == "冷藏车"


def test_extractive_summary_is_short_and_made_of_the_articles_sentences():
    article = next(a for a in corpus.articles() if a.lang == "zh")
    text = "\n".join(article.paragraphs)
    result = summary.extractive(text, "zh")
    assert 60 <= len(result) <= 300
    for sentence in summary.sentences(result, "zh"):
        assert sentence in text


def test_english_summary_is_whole_sentences_within_the_limit():
    article = next(a for a in corpus.articles() if a.lang == "en")
    text = "\n".join(article.paragraphs)
    result = summary.extractive(text, "en")
    assert 100 <= len(result) <= summary.MAX_CHARS
    for sentence in summary.sentences(result, "en"):
        assert sentence in text


@pytest.mark.parametrize(("text", "language"), [
    ("x" * 200_000, "en"),  # one enormous token: the summary once was 100,000 characters
    ("冷" * 200_000, "zh"),
    ("供应链" * 70_000, "zh"),
    ("word " * 40_000, "en"),
    ("A very long sentence without an end " * 30 + ".", "en"),
    ("这是一个没有句号的很长的句子，" * 40, "zh"),
    ("第一句很短。" + "第二句非常非常长，" * 60 + "。", "zh"),
    ("Mixed 中文 and English text " * 100, "en"),
])
def test_summary_is_at_most_200_characters_for_any_input(text, language):
    result, _ = summary.summarize(text, language)
    assert 0 < len(result) <= 200


def test_every_corpus_summary_fits():
    for article in corpus.articles():
        assert len(summary.extractive("\n".join(article.paragraphs), article.lang)) <= 200, article.id


def test_a_long_english_sentence_is_cut_at_a_word():
    text = " ".join(f"word{i}" for i in range(200))  # no sentence end anywhere
    result = summary.fit(text, "en")
    assert result.endswith("…") and len(result) <= 200
    kept = result[:-1]
    assert text.startswith(kept) and text[len(kept)] == " "


def test_a_long_text_is_cut_at_its_last_sentence_end():
    sentences = [f"Sentence number {i} says something about warehouses." for i in range(10)]
    result = summary.fit(" ".join(sentences), "en")
    assert result.endswith("warehouses.") and len(result) <= 200
    assert " ".join(sentences).startswith(result)


def test_a_long_chinese_text_without_punctuation_is_cut_between_words():
    text = "冷链物流企业正在把温控数据接入运输管理系统疫苗和生鲜在途温度全程可追溯" * 10
    result = summary.fit(text, "zh")
    kept = result.removesuffix("…")
    assert result.endswith("…") and len(result) <= 200 and text.startswith(kept)
    words = summary.segmenter().cut(text)
    boundaries = {sum(len(w) for w in words[:n]) for n in range(len(words) + 1)}
    assert len(kept) in boundaries, "the cut falls between two of jieba's words"


def test_chinese_sentences_split_on_full_stops_and_semicolons():
    assert summary.sentences("第一句话。第二句话！第三句话？第四句话；第五句话", "zh") == [
        "第一句话。", "第二句话！", "第三句话？", "第四句话；", "第五句话"]


@pytest.mark.django_db
def test_category_by_description_before_labels(categories_loaded):
    guess = categories.classify(tokenize("医院 患者 医疗器械 注册 临床 诊断"))
    assert guess.method == "description"
    assert categories_loaded["healthcare"] == guess.category_id
    assert 0 < guess.confidence <= 1


@pytest.mark.django_db
def test_classifier_trains_once_enough_articles_are_labelled(categories_loaded, article_factory, editor):
    from contentlib.services import article_set_category

    samples = {
        "logistics": "仓库 分拣 快递 冷链 运输 配送 集装箱 港口 货运 车队",
        "finance": "贷款 银行 保理 融资 债券 利率 支付 结算 风控 授信",
    }
    assert categories.fit()["trained"] is False
    for slug, words in samples.items():
        for i in range(categories.MIN_PER_CATEGORY):
            article = article_factory(title=f"{slug} {i}", text=f"{words} 第{i}篇" * 3)
            article_set_category(article_id=article.id, category_id=categories_loaded[slug], actor=editor)
    report = categories.fit()
    assert report["trained"] is True and report["labelled"] == 2 * categories.MIN_PER_CATEGORY
    guess = categories.classify(tokenize("银行 授信 保理 融资"))
    assert (guess.method, guess.category_id) == ("classifier", categories_loaded["finance"])
