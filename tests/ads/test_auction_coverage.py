"""Coverage weighted by the library's rarity (FitModel.idf "library", ads/auction.py): a question word
common in the library's articles weighs little in the share of the question a promoted article holds,
even when few promoted articles hold it; a rare one weighs much. No database: an in-memory book."""
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from ads.auction import BookCampaign, CampaignBook, CampaignState, FitModel, Promoted, Terms, auction_run, library_freqs
from ads.matching import KeywordRule
from recommender.text import segmenter

NOON = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.timezone.utc)
# 100 library articles: "career" is in 90 of them, "robot" in one.
LIBRARY = library_freqs(["career robot"] + ["career"] * 89 + ["other"] * 10)
# P(fit) = logistic(10·coverage − 5), the cosine weighing nothing: over the floor 0.5 iff the
# article holds more than half of the question's weighted words.
COVERAGE_ONLY = dict(coef=(-5.0, 0.0, 10.0), floor=0.5)


def state() -> CampaignState:
    return CampaignState(status="active", advertiser_status="active", balance=Decimal("1000.00"), max_bid=Decimal("1.00"),
                         daily_budget=Decimal("100.00"), total_budget=Decimal("1000.00"),
                         start_date=dt.date(2026, 1, 1), end_date=None, hours=frozenset(), languages=frozenset())


def book(library=LIBRARY) -> CampaignBook:
    """Campaign 1 bids on "career" and promotes an article holding only "career"; campaign 2 bids on
    "robot" and promotes one holding only "robot". Among the two promoted articles both words are
    equally rare (one article each)."""
    campaigns = [BookCampaign(id=i, name=f"c{i}", advertiser_id=i, advertiser_name=f"a{i}", pricing="cpc",
                              category_ids=frozenset(), promotions=[Promoted(i, 100 + i, word, i - 1, frozenset({word}))],
                              state=state()) for i, word in ((1, "career"), (2, "robot"))]
    rules = [KeywordRule(1, 1, "career", "broad", False), KeywordRule(2, 2, "robot", "broad", False)]
    vectors = np.eye(2, 4, dtype=np.float32)
    return CampaignBook(campaigns, rules, vectors, segmenter(), library=library)


def run(b: CampaignBook, fit: FitModel):
    return auction_run(b, terms=Terms(), question="robot career", answer_text="", now=NOON, fit=fit,
                       question_vector=np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32), answer_vector=None)


def test_library_idf_weighs_a_word_common_in_the_library_less_than_a_rare_one():
    b = book()
    by_library = b.coverage_weights(["robot", "career"], idf="library")
    by_promoted = b.coverage_weights(["robot", "career"], idf="promoted")
    assert by_library["robot"] > 3 * by_library["career"]
    assert by_promoted["robot"] == pytest.approx(by_promoted["career"])


def test_an_article_holding_only_the_library_common_word_stays_under_the_floor():
    """By the promoted articles' idf each article holds half the question (relevance 0.5, at the
    floor): both are shown. By the library's, the "career" article holds a sliver of it and loses
    at the floor; the "robot" one holds most of it and wins."""
    promoted = run(book(), FitModel(**COVERAGE_ONLY, idf="promoted"))
    assert sorted(s.campaign_id for s in promoted.slots) == [1, 2]
    library = run(book(), FitModel(**COVERAGE_ONLY, idf="library"))
    assert [s.campaign_id for s in library.slots] == [2]
    assert library.outcomes[1].reason == "floor"
    assert library.outcomes[1].features[1] < 0.25 < 0.75 < library.outcomes[2].features[1]


def test_a_book_without_the_library_frequencies_falls_back_to_the_promoted_articles():
    b = book(library=None)
    assert b.coverage_weights(["robot", "career"], idf="library") == b.coverage_weights(["robot", "career"])


def test_library_freqs_counts_each_article_once_per_word():
    assert library_freqs(["a a b", "", None, "b"]) == (4, {"a": 1, "b": 2})
