"""The placement auction (ads/auction.py): matching, eligibility, the relevance floor, ranking,
second-price pricing, the citation firewall, the audit log and "why was this campaign not shown"."""
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ads import auction
from ads.auction import FitModel, auction_explain, gsp_price, placement_auction
from ads.models import Advertiser, AuctionLog, Campaign, CampaignKeyword, Placement, Promotion, Review
from contentlib.models import Article
from recommender.embeddings import to_bytes

# 12:00 in Shanghai (04:00 UTC) on 2026-12-01.
NOON = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.timezone.utc)
DIM = 4


def unit(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i] = 1.0
    return v


FITS, OFF_TOPIC = unit(0), unit(1)  # the question's vector is FITS


@pytest.fixture(autouse=True)
def _fit_model(monkeypatch, settings):
    """P(fit) = logistic(10·cos(question, article) − 5 + 0·coverage): an article on FITS is relevance 0.993, one on
    OFF_TOPIC 0.007, against a floor of 0.5. The book is re-read at every auction."""
    monkeypatch.setattr(auction, "tuned_fit", lambda: FitModel(coef=(-5.0, 10.0, 0.0), floor=0.5))
    settings.AD_AUCTION_BOOK_SECONDS = 0
    auction.book_forget()
    yield
    auction.book_forget()


@pytest.fixture
def placement(db):
    return Placement.objects.get(slug="question")  # made by the migration


_names = iter(range(1, 1000))


def make_campaign(*, keywords=(("展台设计", "phrase"),), negatives=(), pricing="cpc", bid="1.00", vector=FITS,
                  hours=(), languages=(), status=Campaign.Status.ACTIVE, advertiser=None, balance="1000.00",
                  name=None, keyword_bids=None) -> Campaign:
    n = next(_names)
    advertiser = advertiser or Advertiser.objects.create(name=f"展览公司{n}", balance=Decimal(balance))
    article = Article.objects.create(title=f"展台设计方案 {n}", text="展台设计与搭建", origin=Article.Origin.SUBMITTED,
                                     owner=advertiser, status=Article.Status.APPROVED, embedding=to_bytes(vector),
                                     tokens="展台 设计 搭建", language="zh")
    campaign = Campaign.objects.create(
        advertiser=advertiser, name=name or f"推广{n}", pricing=pricing, max_bid=Decimal(bid),
        daily_budget=Decimal("100.00"), total_budget=Decimal("1000.00"), start_date=dt.date(2026, 11, 1),
        hours=list(hours), languages=list(languages), status=status)
    for text, match in keywords:
        CampaignKeyword.objects.create(campaign=campaign, text=text, match_type=match, review=Review.APPROVED,
                                       bid=Decimal(keyword_bids[text]) if keyword_bids and text in keyword_bids else None)
    for text in negatives:
        CampaignKeyword.objects.create(campaign=campaign, text=text, match_type="phrase", negative=True,
                                       review=Review.APPROVED)
    Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
    return campaign


def run(placement, question="展台设计多少钱", answer="", **kwargs):
    kwargs.setdefault("now", NOON)
    return placement_auction(placement=placement, question=question, answer_text=answer, question_vector=FITS,
                             answer_vector=None, **kwargs)


def reason(result, campaign) -> str:
    return result.outcomes[campaign.id].reason


# --- pricing: generalized second price ------------------------------------------------------------

def test_one_bidder_pays_the_reserve(placement):
    alone = make_campaign(bid="2.00")
    result = run(placement)
    assert [(s.campaign_id, s.price) for s in result.slots] == [(alone.id, Decimal("0.30"))]


def test_a_winner_pays_what_keeps_its_rank_and_the_last_pays_the_reserve(placement):
    high = make_campaign(bid="2.00")
    low = make_campaign(bid="1.37")
    result = run(placement)
    assert [(s.campaign_id, s.price) for s in result.slots] == [(high.id, Decimal("1.37")), (low.id, Decimal("0.30"))]


def test_the_price_is_rounded_up_to_the_cent_and_never_above_the_bid(placement):
    """Relevance differs (cos 1.0 against 0.9), so the next score over the winner's quality is not
    a whole cent: it is rounded up, and capped at the winner's own bid."""
    winner = make_campaign(bid="2.00")
    make_campaign(bid="2.00", vector=np.array([0.9, np.sqrt(1 - 0.81), 0, 0], dtype=np.float32))
    result = run(placement)
    rel_w = result.outcomes[winner.id].relevance
    second = [o for o in result.outcomes.values() if o.campaign_id != winner.id][0]
    exact = 2.00 * second.relevance / rel_w
    price = result.slots[0].price
    assert price == Decimal(str(exact)).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    assert price <= Decimal("2.00")


def test_a_tie_goes_to_the_older_campaign_which_pays_its_own_bid(placement):
    first = make_campaign(bid="1.00")
    second = make_campaign(bid="1.00")
    result = run(placement)
    assert [s.campaign_id for s in result.slots] == [first.id, second.id]
    assert result.slots[0].price == Decimal("1.00")


def test_a_bid_under_the_reserve_takes_no_part(placement):
    cheap = make_campaign(bid="0.20")
    result = run(placement)
    assert result.slots == [] and reason(result, cheap) == "reserve"


def test_cpm_against_cpc_by_expected_value_per_impression(placement):
    """CPM 30.00 is 0.030 per impression; CPC 1.00 × CTR prior 0.02 is 0.020: the CPM campaign wins
    and pays, per impression, the CPC campaign's 0.020 (kept to 0.0001); the CPC one the reserve."""
    cpc = make_campaign(bid="1.00")
    cpm = make_campaign(bid="30.00", pricing="cpm")
    result = run(placement)
    assert [s.campaign_id for s in result.slots] == [cpm.id, cpc.id]
    assert result.slots[0].price == Decimal("0.0200")
    assert result.slots[1].price == Decimal("0.30")


def test_a_cpm_price_is_kept_to_a_ten_thousandth_and_never_above_the_bid():
    price = gsp_price(pricing="cpm", bid=Decimal("25.55"), quality=0.9 / 1000, next_score=0.03, reserve=Decimal("5"))
    assert price == Decimal("0.0255")  # 0.0333… needed, capped at the bid's 0.02555 kept down to 0.0255
    price = gsp_price(pricing="cpm", bid=Decimal("50"), quality=0.9 / 1000, next_score=0.012345, reserve=Decimal("5"))
    assert price == Decimal("0.0138")  # 0.013716… rounded up


def test_a_keyword_bid_overrides_the_campaign_bid(placement):
    bidder = make_campaign(bid="1.00", keyword_bids={"展台设计": "3.00"})
    make_campaign(bid="2.50")
    result = run(placement)
    assert result.slots[0].campaign_id == bidder.id and result.slots[0].price == Decimal("2.50")


# --- relevance floor ---------------------------------------------------------------------------

def test_no_bid_buys_past_the_relevance_floor(placement):
    off_topic = make_campaign(bid="99.00", vector=OFF_TOPIC)
    fitting = make_campaign(bid="0.50")
    result = run(placement)
    assert [s.campaign_id for s in result.slots] == [fitting.id]
    assert reason(result, off_topic) == "floor"


def test_without_a_question_vector_nothing_is_shown(placement):
    campaign = make_campaign()
    result = placement_auction(placement=placement, question="展台设计多少钱", answer_text="", question_vector=None,
                               answer_vector=None, now=NOON)
    assert result.slots == [] and reason(result, campaign) == "floor"


# --- matching ----------------------------------------------------------------------------------

def test_exact_matches_the_question_only(placement):
    campaign = make_campaign(keywords=[("展台设计", "exact")])
    assert run(placement, question="展台设计多少钱").slots
    assert not run(placement, question="参展怎么准备", answer="先确定展台设计").slots
    assert campaign.id in run(placement, question="展台设计多少钱").outcomes


def test_phrase_matches_the_question_or_the_answer(placement):
    make_campaign(keywords=[("展台设计", "phrase")])
    assert run(placement, question="参展怎么准备", answer="先确定展台设计，再报馆。").slots


def test_broad_matches_every_word_in_any_order(placement):
    make_campaign(keywords=[("仓库空间不够", "broad")])
    assert run(placement, question="仓库的空间总是不够用怎么办").slots
    assert not run(placement, question="仓库的租金太贵").slots


def test_a_negative_keyword_in_the_question_removes_the_campaign(placement):
    campaign = make_campaign(keywords=[("展台设计", "phrase")], negatives=["招聘"])
    result = run(placement, question="展台设计 招聘")
    assert result.slots == [] and reason(result, campaign) == "negative_keyword"


def test_matches_fall_on_token_boundaries_only(placement):
    make_campaign(keywords=[("展台设计", "phrase")])
    make_campaign(keywords=[("ai", "broad")])
    assert not run(placement, question="展台设计师的工资高吗").slots  # 展台|设计师: not the bid phrase
    assert not run(placement, question="predictive maintenance for pumps").slots  # "ai" inside a word
    assert run(placement, question="predictive maintenance with ai").slots


def test_campaign_keywords_never_become_lexicon_terms(placement):
    from recommender.models import LexiconTerm

    make_campaign(keywords=[("展台设计", "phrase")])
    run(placement)
    assert not LexiconTerm.objects.exists()
    assert "campaign" not in LexiconTerm.Source.values


# --- eligibility ----------------------------------------------------------------------------------

def test_hours_are_read_in_the_business_time_zone(placement):
    campaign = make_campaign(hours=[12])  # noon in Shanghai is 04:00 UTC
    assert reason(run(placement, now=NOON), campaign) == "won"
    assert reason(run(placement, now=NOON + dt.timedelta(hours=1)), campaign) == "hours"


@pytest.mark.parametrize(("change", "expected"), [
    ({"status": Campaign.Status.PAUSED}, "status"),
    ({"status": Campaign.Status.OUT_OF_DAILY_BUDGET}, "daily_budget"),
    ({"status": Campaign.Status.OUT_OF_BUDGET}, "budget"),
    ({"end_date": dt.date(2026, 11, 30)}, "schedule"),
    ({"languages": ["en"]}, "language"),
    ({"daily_budget": Decimal("0.50")}, "daily_budget"),
])
def test_an_ineligible_campaign_says_why(placement, change, expected):
    campaign = make_campaign()
    Campaign.objects.filter(id=campaign.id).update(**change)
    result = run(placement)
    assert result.slots == [] and reason(result, campaign) == expected


def test_an_empty_balance_and_a_suspended_advertiser_take_no_part(placement):
    poor = make_campaign(balance="0.10")
    suspended = make_campaign()
    Advertiser.objects.filter(id=suspended.advertiser_id).update(status=Advertiser.Status.SUSPENDED)
    result = run(placement)
    assert result.slots == []
    assert reason(result, poor) == "balance" and reason(result, suspended) == "advertiser_status"


def test_one_slot_per_advertiser(placement):
    first = make_campaign(bid="2.00")
    same = make_campaign(bid="1.00", advertiser=first.advertiser)
    result = run(placement)
    assert [s.campaign_id for s in result.slots] == [first.id]
    assert reason(result, same) == "advertiser_shown"


def test_the_third_campaign_loses_on_rank(placement):
    make_campaign(bid="3.00"), make_campaign(bid="2.00")
    third = make_campaign(bid="1.00")
    result = run(placement)
    assert len(result.slots) == 2 and reason(result, third) == "rank"


# --- citation firewall, both directions -------------------------------------------------------------

def test_a_promoted_article_cited_by_the_answer_is_never_sold(placement):
    campaign = make_campaign()
    article_id = campaign.promotions.get().article_id
    result = run(placement, cited_article_ids=[article_id])
    assert result.slots == [] and reason(result, campaign) == "cited"


def test_an_answer_never_cites_an_advertisers_article(placement):
    from recommender.answers.services import references_from
    from recommender.retrieval import RetrievalResult, ScoredHit

    campaign = make_campaign()
    owned = campaign.promotions.get().article
    organic = Article.objects.create(title="展台设计入门", text="展台设计的基本原则。", origin=Article.Origin.CRAWLED,
                                     status=Article.Status.APPROVED, language="zh")
    result = RetrievalResult(hits=[ScoredHit(owned.id, 2.0), ScoredHit(organic.id, 1.0)], nothing_fits=False)
    assert [r.id for r in references_from(result)] == [organic.id]


# --- audit log and queries --------------------------------------------------------------------------

def test_every_request_is_logged_with_no_winner_too(placement):
    loser = make_campaign(vector=OFF_TOPIC)
    run(placement, reader="reader-1")
    run(placement, question="什么都不匹配")
    logs = list(AuctionLog.objects.order_by("id"))
    assert [(log.filled, log.candidates) for log in logs] == [(0, 1), (0, 0)]
    assert logs[0].losers == {"floor": {"ids": [loser.id], "relevance_pct": [1]}}
    assert logs[0].reader_key == "reader-1" and logs[0].question_text == "展台设计多少钱"


def test_a_winner_is_logged_with_its_price(placement):
    winner = make_campaign(bid="2.00")
    run(placement)
    log = AuctionLog.objects.get()
    assert log.filled == 1 and log.winners[0]["campaign"] == winner.id and log.winners[0]["price"] == "0.30"


def test_an_auction_makes_a_bounded_number_of_queries(placement, settings, django_assert_max_num_queries):
    for _ in range(5):
        make_campaign()
    settings.AD_AUCTION_BOOK_SECONDS = 60
    with django_assert_max_num_queries(14):  # a cold book: lexicon, fingerprint, book, state, log
        run(placement)
    with django_assert_max_num_queries(4):  # warm: lexicon state, campaign state, log row
        result = run(placement)
    assert len(result.slots) == 2


def test_a_changed_bid_is_read_at_the_next_auction_even_from_a_warm_book(placement, settings):
    settings.AD_AUCTION_BOOK_SECONDS = 60
    low, high = make_campaign(bid="1.00"), make_campaign(bid="2.00")
    assert run(placement).slots[0].campaign_id == high.id
    Campaign.objects.filter(id=low.id).update(max_bid=Decimal("5.00"))
    assert run(placement).slots[0].campaign_id == low.id


def test_an_inactive_placement_shows_nothing(placement):
    make_campaign()
    placement.active = False
    assert run(placement).slots == []


# --- why was this campaign not shown -----------------------------------------------------------------

def explain(placement, campaign, question="展台设计多少钱", **kwargs):
    return auction_explain(campaign=campaign, placement=placement, question=question, answer_text="",
                           question_vector=FITS, answer_vector=None, now=kwargs.pop("now", NOON), **kwargs)


def test_the_explanation_names_the_reason_of_each_losing_case(placement):
    shown = make_campaign(bid="3.00")
    second = make_campaign(bid="2.00")
    by_rank = make_campaign(bid="1.00")
    by_floor = make_campaign(vector=OFF_TOPIC)
    by_negative = make_campaign(negatives=["多少钱"])
    by_hours = make_campaign(hours=[3])
    draft = make_campaign(status=Campaign.Status.DRAFT)
    unmatched = make_campaign(keywords=[("冷链", "phrase")])
    reasons = {c.id: explain(placement, c).reason for c in (shown, second, by_rank, by_floor, by_negative, by_hours,
                                                              draft, unmatched)}
    assert reasons == {shown.id: "won", second.id: "won", by_rank.id: "rank", by_floor.id: "floor",
                       by_negative.id: "negative_keyword", by_hours.id: "hours", draft.id: "not_in_book",
                       unmatched.id: "no_keyword"}
    assert not AuctionLog.objects.exists()  # an explanation is not a request


def test_the_explanation_gives_the_lowest_winning_score_and_names_no_competitor(placement):
    make_campaign(bid="3.00", name="竞争对手的推广"), make_campaign(bid="2.00", name="另一个对手")
    mine = make_campaign(bid="1.00", name="我的推广")
    explanation = explain(placement, mine)
    assert explanation.reason == "rank"
    assert explanation.lowest_winning_score == pytest.approx(2.00 * 0.02 * explanation.outcome.relevance)
    assert explanation.outcome.score < explanation.lowest_winning_score
    assert "对手" not in explanation.message


# --- second price, as a property ---------------------------------------------------------------------

@given(pricing=st.sampled_from(["cpc", "cpm"]), bid=st.decimals("0.30", "500.00", places=2),
       quality=st.floats(1e-5, 1.0), share=st.floats(0.0, 1.0))
def test_a_second_price_is_within_reserve_and_bid_and_keeps_the_rank(pricing, bid, quality, share):
    """For any winner and any lower next score: the price is at most the bid (per impression for
    CPM), at least the reserve unless the bid is lower, and bidding it would still have kept the rank."""
    reserve = Decimal("0.30") if pricing == "cpc" else Decimal("5.00")
    q = quality if pricing == "cpc" else quality / 1000
    next_score = float(bid) * q * share  # the next one scores no more than the winner
    price = gsp_price(pricing=pricing, bid=bid, quality=q, next_score=next_score, reserve=reserve)
    per_unit = Decimal(1) if pricing == "cpc" else Decimal(1000)
    # A CPM bid is capped per impression at bid / 1000 rounded down to 0.0001.
    cap = bid if pricing == "cpc" else (bid / 1000).quantize(Decimal("0.0001"), rounding="ROUND_FLOOR")
    assert price <= cap
    assert price * per_unit >= min(reserve, cap * per_unit)
    assert price == cap or float(price * per_unit) * q >= next_score - 1e-6  # rounded up: it keeps the rank
    assert price == price.quantize(Decimal("0.01") if pricing == "cpc" else Decimal("0.0001"))
