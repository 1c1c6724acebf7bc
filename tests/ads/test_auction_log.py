"""The auction log's compact losers (ads.auction.losers_compact / logged_outcomes): every candidate
is in the row, each with the reason the explanation gives, and an older row still reads back."""
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from ads.admin import AuctionLogAdmin
from ads.auction import logged_outcomes
from ads.models import AuctionLog, Campaign
from tests.ads.conftest import PASSWORD
from tests.ads.test_auction import (  # noqa: F401 - fixtures
    NOON,
    OFF_TOPIC,
    _fit_model,
    explain,
    make_campaign,
    placement,
    run,
)

pytestmark = pytest.mark.django_db


def losing_cases():
    """One campaign for each way of (not) being shown beside 展台设计多少钱, by the reason expected."""
    shown = make_campaign(bid="3.00")
    return {
        "won": shown,
        "advertiser_shown": make_campaign(bid="2.50", advertiser=shown.advertiser),
        "won_second": make_campaign(bid="2.00"),
        "rank": make_campaign(bid="1.00"),
        "floor": make_campaign(vector=OFF_TOPIC),
        "negative_keyword": make_campaign(negatives=["多少钱"]),
        "hours": make_campaign(hours=[3]),
        "language": make_campaign(languages=["en"]),
        "reserve": make_campaign(bid="0.10"),
        "status": make_campaign(status=Campaign.Status.PAUSED),
    }


def test_the_logged_losers_name_the_reason_the_explanation_gives(placement):
    """Given one campaign per losing case, the logged row read back names for each the reason that
    auction_explain (which the admin's and the portal's "why was it not shown" pages show) gives."""
    cases = losing_cases()
    result = run(placement)
    outcomes = logged_outcomes(AuctionLog.objects.get(id=result.log_id))
    for expected, campaign in cases.items():
        explained = explain(placement, campaign).reason
        assert outcomes[campaign.id].reason == explained == expected.removesuffix("_second"), expected


def test_nothing_is_lost_from_the_compact_row(placement):
    """Every candidate is in the row, with its relevance (to two places under the floor) and its score."""
    losing_cases()
    for _ in range(30):  # a crowd under the floor, the bulk of a real row
        make_campaign(vector=OFF_TOPIC)
    result = run(placement)
    log = AuctionLog.objects.get(id=result.log_id)
    outcomes = logged_outcomes(log)
    assert set(outcomes) == set(result.outcomes) and len(outcomes) == log.candidates == result.candidates
    for campaign_id, outcome in result.outcomes.items():
        logged = outcomes[campaign_id]
        assert logged.reason == outcome.reason
        if outcome.reason == "floor":
            assert logged.relevance == pytest.approx(round(outcome.relevance, 2))
        elif outcome.relevance is not None:
            assert logged.relevance == pytest.approx(outcome.relevance, abs=1e-4)
            assert (logged.score is None) == (outcome.score is None)
    floor = log.losers["floor"]
    assert floor["ids"] == sorted(floor["ids"]) and len(floor["ids"]) == 31
    assert all(isinstance(v, int) for v in floor["ids"] + floor["relevance_pct"])


def test_a_row_in_the_earlier_format_reads_back(placement):
    """Rows written before the compact floor lists ([id, relevance] pairs) keep their reasons."""
    log = AuctionLog.objects.create(
        placement=placement, question_text="展台设计多少钱", ad_day=NOON.date(), filled=1, candidates=4, floor=0.5,
        winners=[{"slot": 1, "campaign": 7, "score": 0.02, "relevance": 0.99}],
        losers={"floor": [[11, 0.12], [12, 0.08]], "rank": [[13, 0.9, 0.01]], "hours": [14]})
    outcomes = logged_outcomes(log)
    assert {k: v.reason for k, v in outcomes.items()} == {7: "won", 11: "floor", 12: "floor", 13: "rank", 14: "hours"}
    assert outcomes[11].relevance == 0.12 and outcomes[13].score == 0.01


def test_the_admin_shows_why_each_candidate_of_a_logged_auction_lost(client, placement):
    cases = losing_cases()
    result = run(placement)
    staff = get_user_model().objects.create_superuser("staff", "s@example.com", PASSWORD)
    client.force_login(staff)
    page = client.get(reverse("admin:ads_auctionlog_change", args=[result.log_id])).content.decode()
    for expected in ("floor", "negative_keyword", "rank", "advertiser_shown"):
        campaign = cases[expected]
        assert f"(#{campaign.id})" in page, expected
        assert campaign.name in page and reverse("admin:ads_campaign_change", args=[campaign.id]) in page, expected
    assert "相关度门槛" in page or "relevance floor" in page


def test_the_admin_names_the_first_campaigns_of_a_long_floor_and_counts_the_rest(client, placement, monkeypatch):
    """A floor can hold over a thousand campaigns: the page names the first ones and says how many more."""
    losing_cases()
    for _ in range(8):
        make_campaign(vector=OFF_TOPIC)
    result = run(placement)
    floor_ids = sorted(AuctionLog.objects.get(id=result.log_id).losers["floor"]["ids"])
    monkeypatch.setattr(AuctionLogAdmin, "SHOWN_PER_REASON", 5)
    staff = get_user_model().objects.create_superuser("staff", "s@example.com", PASSWORD)
    client.force_login(staff)
    page = client.get(reverse("admin:ads_auctionlog_change", args=[result.log_id])).content.decode()
    assert len(floor_ids) == 9
    assert all(f"(#{i})" in page for i in floor_ids[:5])
    assert not any(f"(#{i})" in page for i in floor_ids[5:])
    assert f"另有 {len(floor_ids) - 5} 个" in page or f"and {len(floor_ids) - 5} more" in page
