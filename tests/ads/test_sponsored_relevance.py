"""The judged sponsored set (fixtures/sponsored), its committed dev/test split and the figures
`manage.py sponsored_relevance` prints."""
from ads import sponsored
from ads.sponsored import JudgedQuestion, Scores, Served


def test_the_judged_set_reads_and_every_promoted_article_exists():
    judged = sponsored.judged_set()
    assert len(judged.campaigns) >= 30 and len(judged.questions) >= 100
    assert {a for c in judged.campaigns for a in c.promotes} == set(judged.articles)
    assert len({c.advertiser for c in judged.campaigns}) >= 8


def test_the_committed_split_is_the_deterministic_one_and_covers_every_question():
    """The split was dealt once before tuning; dealing again must give the same halves."""
    judged = sponsored.judged_set()
    split = sponsored.split_load()
    assert split == sponsored.split_from_questions(judged.questions)
    assert not set(split["dev"]) & set(split["test"])
    assert set(split["dev"]) | set(split["test"]) == {q.id for q in judged.questions}


def q(qid, kind, fits=None):
    return JudgedQuestion(id=qid, lang="zh", question=qid, type=kind, fits=fits or {})


def test_the_figures_count_slots_fit_questions_and_empty_ones():
    scores = Scores([
        Served(q("a", "fit", {"x": 2}), ["x", "y"]),  # one of two slots fits; the question got a fitting one
        Served(q("b", "fit", {"x": 1}), []),  # not filled
        Served(q("c", "no_fit"), []),
        Served(q("d", "keyword_trap"), ["y"]),  # a trap that was filled
    ])
    assert scores.precision() == 1 / 3
    assert scores.filled() == 0.5
    assert scores.empty() == 0.5 and scores.empty(("no_fit",)) == 1.0 and scores.empty(("keyword_trap",)) == 0.0
    assert not scores.meets_goals()


def test_a_set_from_elsewhere_is_all_test():
    others = [q("elsewhere-1", "fit"), q("elsewhere-2", "no_fit")]
    assert sponsored.questions_of(others, "test") == others and sponsored.questions_of(others, "dev") == []
