"""Daily rollups (ads/rollups.py): figures per campaign × keyword × placement × ad day from the raw
events, the same however often recomputed, credited events left out of what was billed, in
agreement with the ledger; days past the raw events' retention frozen. The campaign rollups are
the keyword rollups summed over their keywords, after every run."""
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from ads import billing, events, rollups
from ads.models import CampaignDailyRollup, CampaignKeyword, Click, DailyRollup, Impression, LedgerEntry, Review
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


GROUP = ("campaign_id", "placement_id", "ad_day")


def keyword_rollups_summed() -> dict:
    """{(campaign, placement, ad day): figures} of the keyword rollups summed over their keywords."""
    rows = DailyRollup.objects.order_by().values(*GROUP).annotate(**{f"{n}_sum": Sum(n) for n in rollups.FIGURES})
    return {tuple(r[g] for g in GROUP): {n: r[f"{n}_sum"] for n in rollups.FIGURES} for r in rows}


def campaign_rollups() -> dict:
    return {tuple(r[g] for g in GROUP): {n: r[n] for n in rollups.FIGURES}
            for r in CampaignDailyRollup.objects.values(*GROUP, *rollups.FIGURES)}


def serve_keyword(slot, keyword, *, at=LATE):
    """Serves the slot (a campaign's, from result_for) as matched by `keyword`."""
    result = dataclasses.replace(result_for(), slots=[dataclasses.replace(slot, keyword=keyword.text,
                                                                           keyword_id=keyword.id)])
    return events.impressions_serve(result=result, placement=placement(), visitor=READER, now=at)[0].impression_id


def test_the_campaign_rollups_are_the_keyword_rollups_summed_after_every_run(staff):
    cpc, _cpm, clicks, _by_bot = a_day_of_traffic()
    slot = result_for(cpc).slots[0]
    second = CampaignKeyword.objects.create(campaign=cpc, text="冷库施工", match_type="phrase", review=Review.APPROVED)
    events.click_record(impression_id=serve_keyword(slot, second), visitor=READER, at=LATE + 5 * SECOND)
    rollups.rollups_recompute(day=DAY, now=LATE)
    assert DailyRollup.objects.filter(campaign=cpc).count() == 2  # two keywords, one campaign rollup
    assert CampaignDailyRollup.objects.filter(campaign=cpc).get().clicks_valid == 4
    assert campaign_rollups() == keyword_rollups_summed() and len(campaign_rollups()) == 2

    rollups.rollups_recompute(day=DAY, now=LATE)  # a re-run: the same rows, nothing doubled
    assert campaign_rollups() == keyword_rollups_summed() and len(campaign_rollups()) == 2

    # Late events: a credit, and a click on the second keyword three seconds after midnight in
    # Shanghai (the next ad day) on an impression served the day before.
    billing.event_credit(event=f"click:{clicks[0].click_id}", actor=staff, reason="无效点击")
    late = serve_keyword(slot, second, at=LATE + 50 * SECOND)
    events.click_record(impression_id=late, visitor=READER, at=LATE + 63 * SECOND)
    for day in (DAY, DAY + dt.timedelta(days=1)):
        rollups.rollups_recompute(day=day, now=LATE + dt.timedelta(minutes=5))
    summed = keyword_rollups_summed()
    assert campaign_rollups() == summed and len(summed) == 3
    of_day = CampaignDailyRollup.objects.get(campaign=cpc, ad_day=DAY)
    assert (of_day.clicks_valid, of_day.clicks_credited, of_day.served) == (3, 1, 6)
    assert CampaignDailyRollup.objects.get(campaign=cpc, ad_day=DAY + dt.timedelta(days=1)).clicks_valid == 1

    rollups.campaign_rollups_rebuild()  # the migration's backfill, and bench/reports.py's, gives the same rows
    assert campaign_rollups() == summed
