"""The reports service (ads/reports.py): totals read from the rollups agree with the ledger and with
the raw events to the cent, on traffic with invalid clicks, a credit, a refund, conversions and
events on both sides of midnight in the business time zone; an enterprise user sees its own
advertiser only, whatever its filters say."""
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from ads import billing, conversions, events, reports, rollups, services
from ads.events import Visitor
from ads.models import AuctionLog, Click, Impression, LedgerEntry
from contentlib import services as library
from contentlib.errors import ApplicationError
from tests.ads.tracking_helpers import READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
SECOND = dt.timedelta(seconds=1)
DAY = dt.date(2026, 12, 1)  # the ad day in Asia/Shanghai; it ends at 16:00 UTC
NEXT = DAY + dt.timedelta(days=1)
NOON = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.timezone.utc)
MIDNIGHT = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.timezone.utc)
LATER = MIDNIGHT + dt.timedelta(days=2)
ANALYST = reports.Viewer(advertiser_id=None, analyst=True)


def visitor(n: int, reason: str = "") -> Visitor:
    return Visitor(reader_key=f"{n:032d}", ip_prefix="203.0.113.0", browser_family="Chrome", os_family="Windows",
                   invalid_reason=reason)


def serve(campaign, at, who=READER, log_id=None):
    result = result_for(campaign)
    result.log_id = log_id
    return events.impressions_serve(result=result, placement=placement(), visitor=who, now=at)[0]


@pytest.fixture
def traffic(settings):
    """Two advertisers' CPC and CPM traffic over two ad days, written through the real billing code."""
    settings.AD_PACING_INTERVAL_MINUTES = 0  # pacing is billing's concern; keep every valid click billable
    cache.clear()
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    cpc = make_campaign(bid="1.23", daily="500.00", total="5000.00")
    cpm = make_campaign(pricing="cpm", bid="7.77", advertiser=cpc.advertiser, daily="500.00", total="5000.00")
    other = make_campaign(bid="0.87")
    question = library.question_get_or_create(text="冷库设计怎么做")
    library.question_set_status(question_id=question.id, status="published")
    log = AuctionLog.objects.create(placement=placement(), question=question, question_text=question.normalized_text,
                                    ad_day=DAY, floor=0.0, filled=1)
    AuctionLog.objects.create(placement=placement(), question_text="没人买的词", ad_day=DAY, floor=0.0, filled=0)
    billed = []
    for i in range(12):  # valid CPC clicks at noon, every third of them invalid traffic
        at = NOON + i * 60 * SECOND
        reason = "ip_limit" if i % 3 == 2 else ""
        served = serve(cpc, at, visitor(i, reason), log_id=log.id if i < 6 else None)
        outcome = events.click_record(impression_id=served.impression_id, visitor=visitor(i, reason), at=at + 5 * SECOND)
        if outcome.billed:
            billed.append(outcome.click_id)
    repeat = serve(cpc, NOON + 30 * 60 * SECOND)
    events.click_record(impression_id=repeat.impression_id, visitor=READER, at=NOON + 1805 * SECOND)
    events.click_record(impression_id=repeat.impression_id, visitor=READER, at=NOON + 1806 * SECOND)  # repeat
    bot = serve(cpc, NOON, visitor(99, "bot"))
    events.click_record(impression_id=bot.impression_id, visitor=visitor(99, "bot"), at=NOON + 9 * SECOND)
    # Across midnight: served at 23:59:58 on DAY, clicked at 00:00:03 on NEXT (the click's ad day).
    late = serve(cpc, MIDNIGHT - 2 * SECOND)
    late_click = events.click_record(impression_id=late.impression_id, visitor=READER, at=MIDNIGHT + 3 * SECOND)
    for i in range(7):  # CPM: viewable beacons, one of them arriving after midnight
        at = MIDNIGHT - 1500 * 10**-3 * SECOND if i == 0 else NOON + i * SECOND
        shown = serve(cpm, at)
        events.viewable_record(impression_id=shown.impression_id, at=at + 2 * SECOND)
    serve(cpm, NOON)  # served, never viewable
    for i in range(3):  # the other advertiser, the next day
        shown = serve(other, MIDNIGHT + dt.timedelta(hours=3, minutes=i))
        events.click_record(impression_id=shown.impression_id, visitor=visitor(50 + i),
                            at=MIDNIGHT + dt.timedelta(hours=3, minutes=i, seconds=4))
    billing.cpm_flush()
    billing.event_credit(event=f"click:{billed[0]}", actor=admin, reason="found invalid later")
    services.ledger_reverse(advertiser_id=cpc.advertiser_id, kind=LedgerEntry.Kind.REFUND, amount="100.00",
                            actor=admin, reason="refund of unused balance")
    secret = conversions.secret_get(advertiser_id=cpc.advertiser_id)
    for click_id in (billed[1], late_click.click_id):
        clid = click_id.hex
        conversions.conversion_record(report=conversions.Report(
            click_id=clid, signature=conversions.sign(secret=secret, click_id=clid)), client="t", source="postback",
            at=MIDNIGHT + dt.timedelta(hours=5))
    for day in (DAY, NEXT):
        rollups.rollups_recompute(day=day, now=LATER)
    return {"cpc": cpc, "cpm": cpm, "other": other, "late_click": late_click, "admin": admin}


def ledger_spend(**where) -> Decimal:
    entries = LedgerEntry.objects.filter(kind__in=["charge", "credit"], **where)
    return -sum((e.amount for e in entries), Decimal(0))


def raw_spend(day=None, **where) -> Decimal:
    clicks = Click.objects.filter(billed=True, credited_at__isnull=True, **where)
    impressions = Impression.objects.filter(cost__gt=0, credited_at__isnull=True, **where)
    if day is not None:
        clicks, impressions = clicks.filter(ad_day=day), impressions.filter(ad_day=day)
    return sum((c.amount for c in clicks), Decimal(0)) + sum((i.cost for i in impressions), Decimal(0))


def both_days(**kwargs):
    return reports.ReportFilters(date_from=DAY, date_to=NEXT, **kwargs)


def test_totals_agree_with_the_ledger_and_the_raw_events_to_the_cent(traffic):
    report = reports.report_build(viewer=ANALYST, filters=both_days())
    assert report.zone == "Asia/Shanghai"
    total = report.totals["spend"]
    assert total == ledger_spend() == raw_spend()
    assert report.totals["spend_cents"] == total.quantize(Decimal("0.01"))
    # 8 valid clicks at noon, the repeat's first and the midnight click at 1.23, less the credited one;
    # the other's 3 at 0.87; 7 viewable CPM impressions at 0.0078.
    assert total == Decimal("1.23") * 9 + Decimal("0.87") * 3 + Decimal("0.0078") * 7
    assert report.totals["clicks_ip_limit"] == 4 and report.totals["clicks_bot"] == 1
    assert report.totals["clicks_repeat"] == 1
    assert report.totals["clicks_invalid"] == 6
    assert report.totals["conversions"] == 2


def test_an_event_after_midnight_lands_in_the_next_ad_day(traffic):
    report = reports.report_build(viewer=ANALYST, filters=both_days(campaign_id=traffic["cpc"].id))
    first, second = report.daily
    assert (first["ad_day"], second["ad_day"]) == (DAY, NEXT)
    assert second["clicks_valid"] == 1 and second["spend"] == Decimal("1.23")
    assert first["spend"] == ledger_spend(campaign=traffic["cpc"], ad_day=DAY) == raw_spend(DAY, campaign=traffic["cpc"])
    assert Click.objects.get(id=traffic["late_click"].click_id).ad_day == NEXT
    cpm = reports.report_build(viewer=ANALYST, filters=both_days(campaign_id=traffic["cpm"].id))
    # The CPM impression served at 23:59:58.5 and seen after midnight belongs to the day it was served.
    assert [d["viewable"] for d in cpm.daily] == [7, 0]
    assert cpm.daily[0]["spend"] == Decimal("0.0546") == ledger_spend(campaign=traffic["cpm"], ad_day=DAY)


def test_derived_metrics(traffic):
    totals = reports.report_build(viewer=ANALYST, filters=both_days(campaign_id=traffic["cpc"].id)).totals
    # Valid served: 8 at noon + the repeat's + the midnight one = 10; valid clicks 8 + 1 + 1 − 1 credited.
    assert totals["served"] == 10 and totals["served_invalid"] == 5
    assert totals["clicks_valid"] == 9 and totals["ctr"] == Decimal("90.0000")
    assert totals["average_cpc"] == Decimal("1.23")
    assert totals["ecpm"] == Decimal("1107.00")
    assert totals["conversion_rate"] == Decimal("22.2222")
    assert totals["cost_per_conversion"] == Decimal("5.54")
    site = reports.report_build(viewer=ANALYST, filters=both_days()).totals
    assert site["fill_rate"] == Decimal("50.0000")  # one auction of two had a winner
    assert totals["fill_rate"] is None  # a campaign has none of its own


def test_a_refund_leaves_spend_alone_and_reconciliation_finds_no_difference(traffic):
    assert LedgerEntry.objects.filter(kind="refund").exists()
    rows = reports.reconciliation(viewer=ANALYST, filters=both_days())
    assert rows and all(row["difference"] == 0 for row in rows)
    assert sum(row["ledger"] for row in rows) == ledger_spend()


def test_reconciliation_lists_a_difference_when_the_rollups_are_stale(traffic):
    shown = serve(traffic["cpc"], NOON + 3600 * SECOND)
    events.click_record(impression_id=shown.impression_id, visitor=visitor(77), at=NOON + 3605 * SECOND)
    rows = reports.reconciliation(viewer=ANALYST, filters=both_days())
    wrong = [row for row in rows if row["difference"]]
    assert [(row["campaign_id"], row["ad_day"], row["difference"]) for row in wrong] == [
        (traffic["cpc"].id, DAY, Decimal("-1.23"))]
    rollups.rollups_recompute(day=DAY, now=LATER)
    assert all(row["difference"] == 0 for row in reports.reconciliation(viewer=ANALYST, filters=both_days()))


def test_the_traffic_filter(traffic):
    invalid = reports.report_build(viewer=ANALYST, filters=both_days(traffic="invalid")).totals
    assert invalid["spend"] == 0 and invalid["clicks_valid"] == 0 and invalid["clicks_invalid"] == 6
    assert invalid["served_invalid"] == 5 and invalid["served"] == 0
    valid = reports.report_build(viewer=ANALYST, filters=both_days(traffic="valid")).totals
    assert valid["clicks_invalid"] == 0 and valid["spend"] == ledger_spend()


def test_an_enterprise_user_sees_only_its_own_advertiser_whatever_the_filters(traffic):
    other = traffic["other"]
    viewer = reports.Viewer(advertiser_id=other.advertiser_id, analyst=False)
    mine = reports.report_build(viewer=viewer, filters=both_days())
    assert mine.totals["spend"] == Decimal("0.87") * 3 == ledger_spend(campaign=other)
    for sneaky in (both_days(advertiser_id=traffic["cpc"].advertiser_id), both_days(campaign_id=traffic["cpc"].id)):
        report = reports.report_build(viewer=viewer, filters=sneaky)
        assert report.totals["spend"] in (0, mine.totals["spend"])
        assert report.totals["served"] in (0, mine.totals["served"])
        assert all(k["campaign__name"] == other.name for k in report.keywords)
    _page, rows = reports.report_table(viewer=viewer, filters=both_days(advertiser_id=traffic["cpc"].advertiser_id))
    assert {row["campaign"].id for row in rows} == {other.id}
    assert reports.search_terms(viewer=viewer, filters=both_days(advertiser_id=traffic["cpc"].advertiser_id)) == []
    with pytest.raises(ApplicationError) as refused:
        reports.reconciliation(viewer=viewer, filters=both_days())
    assert refused.value.extra["code"] == "forbidden"


def test_the_table_is_sorted_and_paginated_from_rollups(traffic):
    page, rows = reports.report_table(viewer=ANALYST, filters=both_days(), sort="-spend", per_page=2)
    assert page.paginator.count == 4 and len(rows) == 2
    assert rows[0]["spend"] >= rows[1]["spend"]
    assert rows[0]["campaign"] == traffic["cpc"] and rows[0]["ad_day"] == DAY
    page2, rows2 = reports.report_table(viewer=ANALYST, filters=both_days(), sort="-spend", page=2, per_page=2)
    assert rows2[-1]["spend"] <= rows[-1]["spend"]
    _page, by_day = reports.report_table(viewer=ANALYST, filters=both_days(), sort="day")
    assert [row["ad_day"] for row in by_day] == sorted(row["ad_day"] for row in by_day)
    assert sum(row["conversions"] for row in by_day) == 2


def test_search_terms_are_the_published_questions_that_showed_the_advertisers_ads(traffic):
    viewer = reports.Viewer(advertiser_id=traffic["cpc"].advertiser_id, analyst=False)
    terms = reports.search_terms(viewer=viewer, filters=both_days())
    assert [t["term"] for t in terms] == ["冷库设计怎么做"]
    # Six impressions logged under that question: two of them invalid traffic (ip_limit), so four
    # valid impressions and four valid clicks, one of them credited afterwards.
    assert terms[0]["impressions"] == 4 and terms[0]["clicks"] == 4
    assert terms[0]["spend"] == Decimal("3.69")


@pytest.mark.postgres
def test_the_whole_sites_fill_rate_reads_the_day_index_alone():
    """The whole site's query is an index-only scan of auctionlog_day (not a scan of the whole log).
    The table is tiny here, so sequential scans are switched off to see which index the plan can use:
    without auctionlog_day, or with a query reading a column outside it, it is not an index-only scan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(4):
        AuctionLog.objects.create(placement=placement(), question_text=f"冷库 {n}", ad_day=DAY, filled=n % 2,
                                  floor=0.3)
    filters = reports.ReportFilters(date_from=DAY, date_to=NEXT)
    with CaptureQueriesContext(connection) as captured:
        assert reports.fill_rate(filters=filters) == Decimal("50.0000")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using auctionlog_day" in plan, plan
