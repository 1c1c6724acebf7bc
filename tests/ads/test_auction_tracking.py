"""What tracking brings to the auction: frequency caps per reader key and ad day, spend counters
in eligibility, and the predicted CTR from the clicks and impressions recorded (Beta posterior)."""
import datetime as dt
from decimal import Decimal

import pytest

from ads import events, rollups
from ads.models import Campaign
from tests.ads.test_auction import NOON, _fit_model, make_campaign, reason, run  # noqa: F401 (_fit_model: autouse)
from tests.ads.tracking_helpers import READER, placement

pytestmark = pytest.mark.django_db
OTHER = READER.__class__(reader_key="o" * 32, ip_prefix="192.0.2.0", browser_family="Firefox", os_family="Linux")


def show(result, visitor=READER):
    return events.impressions_serve(result=result, placement=placement(), visitor=visitor, now=NOON)


def test_a_reader_who_saw_a_campaign_as_often_as_its_cap_today_does_not_see_it_again():
    capped = make_campaign()
    Campaign.objects.filter(id=capped.id).update(frequency_cap=2)
    for _ in range(2):
        result = run(placement(), reader=READER.reader_key)
        assert [s.campaign_id for s in result.slots] == [capped.id]
        show(result)
    third = run(placement(), reader=READER.reader_key)
    assert third.slots == [] and reason(third, capped) == "frequency_cap"
    assert [s.campaign_id for s in run(placement(), reader=OTHER.reader_key).slots] == [capped.id]
    tomorrow = run(placement(), reader=READER.reader_key, now=NOON + dt.timedelta(days=1))
    assert [s.campaign_id for s in tomorrow.slots] == [capped.id]  # a new ad day


def test_spend_counters_make_a_campaign_ineligible_once_a_budget_cannot_pay_one_more_click():
    campaign = make_campaign(bid="1.00")
    Campaign.objects.filter(id=campaign.id).update(spend_total=Decimal("999.50"))
    assert reason(run(placement()), campaign) == "budget"
    Campaign.objects.filter(id=campaign.id).update(spend_total=Decimal("0"), spend_today=Decimal("99.50"),
                                                   spend_day=dt.date(2026, 12, 1))
    assert reason(run(placement()), campaign) == "daily_budget"
    assert reason(run(placement(), now=NOON + dt.timedelta(days=1)), campaign) == "won"  # yesterday's spend


def test_recorded_clicks_raise_a_campaigns_predicted_ctr_over_an_equal_bid():
    older, clicked = make_campaign(bid="1.00"), make_campaign(bid="1.00")
    assert [s.campaign_id for s in run(placement()).slots][0] == older.id  # a tie: the older first
    for _ in range(10):
        served = show(run(placement()))
        mine = next(s for s in served if s.campaign_id == clicked.id)
        events.click_record(impression_id=mine.impression_id, visitor=READER, at=NOON + dt.timedelta(seconds=3))
    rollups.rollups_recompute(day=dt.date(2026, 12, 1), now=NOON)
    result = run(placement())
    assert [s.campaign_id for s in result.slots] == [clicked.id, older.id]
    ctr = {o.campaign_id: o.score / (float(o.bid) * o.relevance) for o in result.outcomes.values()}
    assert ctr[clicked.id] == pytest.approx((1 + 10) / (50 + 10))  # prior 1 in 50, then 10 clicks in 10
    assert ctr[older.id] == pytest.approx((1 + 0) / (50 + 10))
