"""Daily rollups (ads/rollups.py): figures per campaign × keyword × placement × ad day from the raw
events, the same however often recomputed, credited events left out of what was billed, in
agreement with the ledger; days past the raw events' retention frozen."""
import datetime as dt
from decimal import Decimal

import pytest

from ads import billing, events, rollups
from ads.models import Click, DailyRollup, Impression, LedgerEntry
from contentlib.errors import ApplicationError
from tests.ads.tracking_helpers import BOT, LATE, READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
SECOND = dt.timedelta(seconds=1)
DAY = dt.date(2026, 12, 1)


def serve(campaign, visitor=READER):
    return events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=visitor,
                                    now=LATE)[0].impression_id


def a_day_of_traffic():
    cpc = make_campaign(bid="1.00")
    cpm = make_campaign(pricing="cpm", bid="30.00", advertiser=cpc.advertiser)
    clicks = [events.click_record(impression_id=serve(cpc), visitor=READER, at=LATE + 5 * SECOND) for _ in range(3)]
    by_bot = events.click_record(impression_id=serve(cpc), visitor=BOT, at=LATE + 5 * SECOND)
    events.click_record(impression_id=None, visitor=READER, token_problem="token_tampered", at=LATE)
    for visitor in (READER, READER, BOT):
        events.viewable_record(impression_id=serve(cpm, visitor), at=LATE + 2 * SECOND)
    serve(cpm)  # served, never viewable
    billing.cpm_flush()
    return cpc, cpm, clicks, by_bot


def test_a_rollup_counts_each_kind_of_event_in_its_own_column():
    cpc, cpm, _clicks, _by_bot = a_day_of_traffic()
    assert rollups.rollups_recompute(day=DAY, now=LATE) == 2
    of_cpc = DailyRollup.objects.get(campaign=cpc)
    assert (of_cpc.served, of_cpc.served_invalid, of_cpc.clicks_valid, of_cpc.clicks_billed, of_cpc.clicks_bot,
            of_cpc.spend) == (4, 0, 3, 3, 1, Decimal("3.0000"))
    assert (of_cpc.keyword_id, of_cpc.placement_id, of_cpc.ad_day) == (cpc.keywords.get().id, placement().id, DAY)
    of_cpm = DailyRollup.objects.get(campaign=cpm)
    assert (of_cpm.served, of_cpm.served_invalid, of_cpm.viewable, of_cpm.spend) == (3, 1, 2, Decimal("0.0600"))
    # a click with a tampered token names no impression, hence no campaign: it is in no campaign's rollup
    assert sum(r.clicks_token_tampered for r in DailyRollup.objects.all()) == 0


def test_recomputing_gives_the_same_rows():
    a_day_of_traffic()
    rollups.rollups_recompute(day=DAY, now=LATE)
    first = list(DailyRollup.objects.order_by("campaign_id").values())
    assert rollups.rollups_recompute(day=DAY, now=LATE) == 2
    again = list(DailyRollup.objects.order_by("campaign_id").values())
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("id", "computed_at")} for r in rows]  # noqa: E731
    assert strip(first) == strip(again)


def test_a_credit_then_a_recompute_leaves_the_event_out_and_rollups_agree_with_the_ledger(staff):
    cpc, cpm, clicks, _by_bot = a_day_of_traffic()
    billing.event_credit(event=f"click:{clicks[1].click_id}", actor=staff, reason="无效点击")
    impression = events.impressions_serve(result=result_for(cpm), placement=placement(), visitor=READER, now=LATE)[0]
    events.viewable_record(impression_id=impression.impression_id, at=LATE + 2 * SECOND)
    billing.event_credit(event=f"impression:{impression.impression_id}", actor=staff, reason="机房流量")
    rollups.rollups_recompute(day=DAY, now=LATE)
    of_cpc = DailyRollup.objects.get(campaign=cpc)
    assert (of_cpc.clicks_billed, of_cpc.clicks_valid, of_cpc.clicks_credited, of_cpc.spend) == (
        2, 2, 1, Decimal("2.0000"))
    of_cpm = DailyRollup.objects.get(campaign=cpm)
    assert (of_cpm.clicks_credited, of_cpm.spend) == (1, Decimal("0.0600"))
    for rollup in DailyRollup.objects.all():
        ledger = LedgerEntry.objects.filter(campaign=rollup.campaign, keyword=rollup.keyword,
                                            placement=rollup.placement, ad_day=rollup.ad_day)
        assert rollup.spend == -billing.decimal_sum(ledger, "amount")


def test_a_day_past_the_retention_is_frozen(settings):
    settings.RAW_EVENT_RETENTION_DAYS = 90
    with pytest.raises(ApplicationError) as frozen:
        rollups.rollups_recompute(day=DAY - dt.timedelta(days=91), now=LATE)
    assert frozen.value.extra["code"] == "frozen"
    assert rollups.rollups_recompute(day=DAY - dt.timedelta(days=90), now=LATE) == 0  # the last day kept


def test_raw_events_past_the_retention_are_deleted_and_the_ledger_and_rollups_stay(settings, tmp_path):
    from ads import exports  # noqa: PLC0415

    settings.RAW_EVENT_RETENTION_DAYS = 90
    cpc, _cpm, _clicks, _by_bot = a_day_of_traffic()
    rollups.rollups_recompute(day=DAY, now=LATE)
    charges = LedgerEntry.objects.filter(kind="charge").count()
    kept = exports.raw_events_retention(now=LATE + dt.timedelta(days=90), directory=tmp_path)
    assert (kept["clicks"], kept["impressions"]) == (0, 0)  # the last day kept
    gone = exports.raw_events_retention(now=LATE + dt.timedelta(days=91), directory=tmp_path)
    clicks, impressions = gone["clicks"], gone["impressions"]
    assert (clicks, impressions) == (5, 8)  # 4 CPC and 4 CPM impressions; 3 clicks, a bot's, a tampered one
    assert not Impression.objects.exists() and not Click.objects.exists()
    assert LedgerEntry.objects.filter(kind="charge").count() == charges
    assert DailyRollup.objects.get(campaign=cpc).spend == Decimal("3.0000")


def test_a_credit_queues_the_recompute_of_its_days_rollups(staff, django_capture_on_commit_callbacks):
    cpc, _cpm, clicks, _by_bot = a_day_of_traffic()
    rollups.rollups_recompute(day=DAY, now=LATE)
    with django_capture_on_commit_callbacks(execute=True):
        billing.event_credit(event=f"click:{clicks[0].click_id}", actor=staff, reason="无效点击")
    assert DailyRollup.objects.get(campaign=cpc).clicks_credited == 1
