"""The extractive provider and the citation helpers every provider shares."""
from recommender.answers import citations, extractive
from recommender.answers.base import Reference

ZH = Reference(id=1, title="仓储机器人", language="zh", score=0.9,
               text="仓库引入了四十台机器人。按人工成本测算，这批仓储机器人大约两年半就能回本。订单量决定回本周期。")
EN = Reference(id=2, title="Warehouse robots", language="en", score=0.95,
               text="The warehouse bought forty robots. The robots pay back in about two and a half years.")


def test_quotes_the_best_sentences_of_the_first_reference_word_for_word():
    draft = extractive.compose("仓储机器人多久能回本", [ZH], language="zh", nothing_fits=False)

    assert draft.cited == [1]
    passages = citations.cited_sentences(draft.text)
    assert "按人工成本测算，这批仓储机器人大约两年半就能回本。[1]" in draft.text
    assert 1 <= len(passages) <= extractive.DEFAULT_PARAMS.max_sentences
    assert all(numbers == [1] and citations.appears_in(p, ZH.text) for p, numbers in passages)


def test_prefers_a_reference_in_the_question_language_among_the_first_two():
    chinese = extractive.compose("仓储机器人多久能回本", [EN, ZH], language="zh", nothing_fits=False)
    english = extractive.compose("when do warehouse robots pay back", [EN, ZH], language="en", nothing_fits=False)

    assert chinese.cited == [1] and english.cited == [2]
    assert "The robots pay back in about two and a half years.[1]" in english.text


def test_says_the_library_has_no_answer_when_nothing_fits():
    draft = extractive.compose("仓储机器人多久能回本", [ZH], language="zh", nothing_fits=True)

    assert draft.no_answer and draft.text == "资料库里还没有能回答这个问题的文章。"
    assert extractive.compose("x", [], language="en", nothing_fits=False).text.startswith("The library has no")


def test_citation_markers_are_normalized_filtered_and_renumbered():
    text, used = citations.clean("甲【2】。乙[1, 3]。丙[^9]。", 3)

    assert text == "甲[2]。乙[1][3]。丙。" and used == [2, 1, 3]
    assert citations.renumber(text, used) == "甲[1]。乙[2][3]。丙。"
    assert citations.cited_sentences("甲[1]。乙 [2][3]. 丙") == [("甲", [1]), ("乙", [2, 3])]
    assert citations.uncited_tail("甲[1]。乙 [2][3]. 丙") == "丙"


def test_support_is_word_for_word_or_enough_overlap():
    source = "按人工成本测算，这批仓储机器人大约两年半就能回本。"

    assert citations.supported("这批仓储机器人大约两年半就能回本", source)
    assert citations.supported("按人工成本测算，仓储机器人约两年半回本", source)
    assert not citations.supported("仓储机器人一年就能回本，利润翻倍", source)


def test_an_answers_kind_for_retrieval_is_extractive_for_quoted_answers_only():
    """retrieve(answer=...) weighs an answer by its kind: the extractive provider's answer, and a
    model's answer replaced by the extractive one (it carries the notice), are quoted from the
    library; a model's own answer is written."""
    from recommender.answers import answer_kind

    assert answer_kind(provider="extractive") == "extractive"
    assert answer_kind(provider="openai", notice="The AI model could not answer…") == "extractive"
    assert answer_kind(provider="openai") == "written"
    assert answer_kind(provider="transformers") == "written"


def test_a_sentence_the_article_repeats_is_quoted_once():
    """A page that says a line twice (a pull quote, a repeated lead) gives an answer that says it once."""
    line = "企业负责人表示，下一步将把温控数据接入运输管理系统，实现冷链全程可追溯。"
    repeated = Reference(id=3, title="冷链温控", language="zh", score=0.9,
                         text=line + line + "冷藏车每分钟上传一次温度数据。" + line)

    draft = extractive.compose("温控数据怎么接入运输管理系统", [repeated], language="zh", nothing_fits=False)

    assert draft.text.count("实现冷链全程可追溯") == 1, draft.text
    assert len(citations.cited_sentences(draft.text)) == 1  # the other sentence holds too little of the question
