"""Budgets over time (ads/billing.py, ads/notices.py): daily pacing with a fake clock, out-of-budget
statuses and their emails, the ad day's reset, and the email when the balance lasts under 3 days."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from ads import billing, events, notices, services
from ads.models import Campaign
from tests.ads.tracking_helpers import READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(hour, minute=0, day=1):
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def click(campaign, when, price=None):
    served = events.impressions_serve(result=result_for(campaign, price=price), placement=placement(), visitor=READER,
                                      now=when)[0]
    return events.click_record(impression_id=served.impression_id, visitor=READER, at=when + dt.timedelta(seconds=5))


def test_the_pacing_share_is_the_running_hours_elapsed_plus_one_interval():
    assert billing.pace_share(hours=[], at=at(0)) == pytest.approx(15 / 1440)
    assert billing.pace_share(hours=[], at=at(12)) == pytest.approx((720 + 15) / 1440)
    nine_to_five = list(range(9, 17))
    assert billing.pace_share(hours=nine_to_five, at=at(7)) == pytest.approx(15 / 480)
    assert billing.pace_share(hours=nine_to_five, at=at(13)) == pytest.approx((240 + 15) / 480)
    assert billing.pace_share(hours=nine_to_five, at=at(16, 50)) == 1.0


def test_pacing_holds_clicks_back_early_in_the_day_and_lets_them_through_as_it_goes_by(settings):
    settings.AD_PACING_INTERVAL_MINUTES = 15
    campaign = make_campaign(bid="1.00", daily="8.00", total="100.00", hours=range(9, 17))
    early = [click(campaign, at(9, 5)) for _ in range(3)]
    assert [(o.billed, o.reason) for o in early] == [(True, ""), (False, "paced"), (False, "paced")]
    later = [click(campaign, at(13)) for _ in range(5)]  # allowance 8 × 255/480 = 4.25
    assert [o.billed for o in later] == [True, True, True, True, False]
    assert later[-1].reason == "paced"
    assert Campaign.objects.get(id=campaign.id).spend_today == Decimal("5.00")


def test_the_auction_skips_a_campaign_ahead_of_its_pace(settings):
    from ads.auction import BookCampaign, CampaignState, Terms, _eligibility

    campaign = make_campaign(bid="1.00", daily="8.00", total="100.00")
    click(campaign, at(23, 50))  # spend 1.00
    state = CampaignState(status="active", advertiser_status="active", balance=Decimal("100"), max_bid=Decimal("1"),
                          daily_budget=Decimal("8"), total_budget=Decimal("100"), start_date=dt.date(2026, 11, 1),
                          end_date=None, hours=frozenset(), languages=frozenset(), spend_today=Decimal("1.00"),
                          spend_day=dt.date(2026, 12, 1), spend_total=Decimal("1.00"))
    book = BookCampaign(id=campaign.id, name="x", advertiser_id=1, advertiser_name="x", pricing="cpc",
                        category_ids=frozenset(), promotions=[], state=state)
    check = dict(terms=Terms(), language="zh", category_ids=frozenset(), bid=Decimal("1.00"))
    assert _eligibility(book, local_now=at(1), **check) == "paced"  # 1.00 > 8 × 75/1440
    assert _eligibility(book, local_now=at(12), **check) is None
    assert _eligibility(book, local_now=at(1, day=2), **check) is None  # a new ad day: nothing spent yet


def test_out_of_daily_budget_stops_the_campaign_emails_once_and_the_next_ad_day_resumes_it(settings):
    settings.AD_PACING_INTERVAL_MINUTES = 0
    campaign = make_campaign(bid="1.00", daily="2.00", total="100.00")
    outcomes = [click(campaign, at(10)) for _ in range(3)]
    assert [o.reason for o in outcomes] == ["", "", "daily_budget"]
    assert Campaign.objects.get(id=campaign.id).status == Campaign.Status.OUT_OF_DAILY_BUDGET
    assert notices.notices_send(now=at(10)) == 1
    assert notices.notices_send(now=at(11)) == 0
    assert mail.outbox[-1].subject == f"推广计划今日预算已用完：{campaign.name}" and "2.00" in mail.outbox[-1].body
    assert billing.daily_budgets_reset(at=at(23, 59)) == 0  # still the same ad day
    assert billing.daily_budgets_reset(at=at(0, 0, day=2)) == 1
    assert Campaign.objects.get(id=campaign.id).status == Campaign.Status.ACTIVE
    assert click(campaign, at(10, day=2)).billed


def test_out_of_total_budget_stops_the_campaign_until_the_budget_is_raised(settings):
    settings.AD_PACING_INTERVAL_MINUTES = 0
    campaign = make_campaign(bid="1.00", daily="5.00", total="5.00")
    assert [click(campaign, at(10)).billed for _ in range(6)] == [True] * 5 + [False]
    assert Campaign.objects.get(id=campaign.id).status == Campaign.Status.OUT_OF_BUDGET
    assert notices.notices_send(now=at(10)) == 1
    assert billing.daily_budgets_reset(at=at(0, 0, day=2)) == 0  # a new day does not help a total budget
    Campaign.objects.filter(id=campaign.id).update(total_budget=Decimal("10.00"))
    assert billing.daily_budgets_reset(at=at(0, 0, day=2)) == 1


def test_an_email_when_the_balance_lasts_less_than_three_days_of_recent_spend(settings):
    settings.AD_PACING_INTERVAL_MINUTES = 0
    settings.AD_LOW_BALANCE = Decimal("1.00")  # not the fixed threshold's email: this one
    campaign = make_campaign(bid="2.00", daily="100.00", total="1000.00", balance="40.00")
    for day in (1, 2):
        for _ in range(5):
            click(campaign, at(10, day=day))  # 10.00 a day; 20.00 left after day 2: two days
    assert notices.average_daily_spend(advertiser_id=campaign.advertiser_id, today=dt.date(2026, 12, 2)) == 10
    mail.outbox.clear()
    assert notices.notices_send(now=at(12, day=2)) == 1
    assert "20.00" in mail.outbox[0].body and "2.0" in mail.outbox[0].subject
    assert notices.notices_send(now=at(13, day=2)) == 0


def viewable(campaign, when, count):
    """`count` viewable CPM impressions of `campaign` at `when`: their price accrues, no flush."""
    for _ in range(count):
        served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER,
                                          now=when)[0]
        assert events.viewable_record(impression_id=served.impression_id, at=when + dt.timedelta(seconds=2)) \
            == "accepted"


@pytest.mark.postgres
def test_cpm_spend_accrued_but_not_yet_flushed_counts_in_the_recent_average(settings):
    settings.AD_PACING_INTERVAL_MINUTES = 0
    settings.AD_LOW_BALANCE = Decimal("1.00")
    campaign = make_campaign(pricing="cpm", bid="1000.00", daily="100.00", total="1000.00", balance="40.00")
    viewable(campaign, at(10, day=1), 10)  # 1.00 an impression: 10.00 on day 1, flushed into the ledger
    assert billing.cpm_flush(campaign_ids=[campaign.id]) == 1
    viewable(campaign, at(10, day=2), 10)  # 10.00 on day 2, still accrued
    campaign.refresh_from_db()
    assert campaign.accrued == Decimal("10.00")
    # The ledger alone says 5.00 a day and 30.00 − 10.00 accrued = 20.00 left: four days. With the
    # accrued spend, 10.00 a day: two days, under three.
    assert notices.average_daily_spend(advertiser_id=campaign.advertiser_id, today=dt.date(2026, 12, 2)) == 10
    mail.outbox.clear()
    assert notices.notices_send(now=at(12, day=2)) == 1
    assert "20.00" in mail.outbox[0].body and "10.00" in mail.outbox[0].body and "2.0" in mail.outbox[0].subject
    assert billing.cpm_flush(campaign_ids=[campaign.id]) == 1  # the flush changes neither figure: no second email
    assert notices.average_daily_spend(advertiser_id=campaign.advertiser_id, today=dt.date(2026, 12, 2)) == 10
    assert notices.notices_send(now=at(13, day=2)) == 0


@pytest.mark.postgres
def test_an_advertiser_whose_only_spend_is_accrued_is_warned_before_any_flush(settings):
    settings.AD_PACING_INTERVAL_MINUTES = 0
    settings.AD_LOW_BALANCE = Decimal("1.00")
    campaign = make_campaign(pricing="cpm", bid="1000.00", daily="100.00", total="1000.00", balance="25.00")
    viewable(campaign, at(10, day=1), 10)  # 10.00 accrued today, nothing in the ledger yet: 15.00 left, 1.5 days
    assert not campaign.advertiser.ledger.filter(kind="charge").exists()
    mail.outbox.clear()
    assert notices.notices_send(now=at(12, day=1)) == 1
    assert "15.00" in mail.outbox[0].body and "1.5" in mail.outbox[0].subject


@pytest.mark.postgres
def test_the_fixed_threshold_email_counts_accrued_cpm_spend_once(settings):
    """What is left to spend (the balance less the accrued CPM spend) falling under AD_LOW_BALANCE sends
    one email before any flush; the flush that moves the spend into the ledger sends none; a top-up
    over the threshold and a new fall send the next one."""
    settings.AD_PACING_INTERVAL_MINUTES = 0
    settings.AD_LOW_BALANCE = Decimal("25.00")
    campaign = make_campaign(pricing="cpm", bid="1000.00", daily="100.00", total="1000.00", balance="30.00")

    def low_balance_mails():
        return [m for m in mail.outbox if m.subject in ("Your balance is low", "您的账户余额不足")]

    mail.outbox.clear()
    notices.notices_send(now=at(9))
    assert low_balance_mails() == []  # 30.00 left
    viewable(campaign, at(10), 10)  # 10.00 accrued: the ledger still says 30.00, 20.00 is left to spend
    notices.notices_send(now=at(11))
    [first] = low_balance_mails()
    assert "20.00" in first.body and "10.00" in first.body and "30.00" in first.body
    assert billing.cpm_flush(campaign_ids=[campaign.id]) == 1  # now the ledger says 20.00 too
    notices.notices_send(now=at(12))
    assert len(low_balance_mails()) == 1
    services.ledger_top_up(advertiser_id=campaign.advertiser_id, amount="10.00", actor=None, note="test")
    notices.notices_send(now=at(13))
    assert len(low_balance_mails()) == 1  # 30.00, over the threshold again
    viewable(campaign, at(14), 10)
    notices.notices_send(now=at(15))
    assert len(low_balance_mails()) == 2
