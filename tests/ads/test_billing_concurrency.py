"""Under concurrency, on PostgreSQL: many threads clicking one campaign with a tight budget, or two
campaigns sharing one small balance, never charge past a limit, lose nothing to caution (at least
the budget minus one maximum bid is charged), bill a double click once, and keep ledger + accrued
equal to the counters."""
import datetime as dt
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from ads import billing, events, selectors
from ads.models import Advertiser, Campaign, Click, LedgerEntry
from tests.ads.tracking_helpers import LATE, READER, make_campaign, placement, result_for

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.usefixtures("require_postgres")]
THREADS = 8
SECOND = dt.timedelta(seconds=1)


def _serve_many(campaign, count, rng):
    """`count` impressions at prices between 0.30 and the bid (second prices differ per auction)."""
    served = []
    for _ in range(count):
        price = Decimal(rng.randint(30, int(campaign.max_bid * 100))) / 100
        served += events.impressions_serve(result=result_for(campaign, price=price), placement=placement(),
                                           visitor=READER, now=LATE)
    return served


def _click_all(impression_ids):
    barrier = threading.Barrier(THREADS)

    def click(chunk):
        try:
            barrier.wait()
            return [events.click_record(impression_id=i, visitor=READER, at=LATE + SECOND * 5) for i in chunk]
        finally:
            connection.close()

    chunks = [impression_ids[i::THREADS] for i in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        return [o for outcomes in pool.map(click, chunks) for o in outcomes]


def test_many_threads_never_charge_a_campaign_past_its_budget_and_leave_at_most_one_bid_unspent():
    rng = random.Random(15)
    campaign = make_campaign(bid="1.50", daily="20.00", total="20.00", balance="1000.00")
    outcomes = _click_all([s.impression_id for s in _serve_many(campaign, 80, rng)])
    charged = sum((o.amount for o in outcomes if o.billed), Decimal(0))
    row = Campaign.objects.get(id=campaign.id)
    assert Decimal("20.00") - Decimal("1.50") <= charged <= Decimal("20.00")
    assert row.spend_total == row.spend_today == charged
    assert billing.campaign_books(campaign.id)["agree"]
    assert LedgerEntry.objects.filter(campaign=campaign, kind="charge").count() == sum(o.billed for o in outcomes)
    assert {o.reason for o in outcomes if not o.billed} <= {"daily_budget", "budget"}
    advertiser = Advertiser.objects.get(id=campaign.advertiser_id)
    assert advertiser.balance == selectors.ledger_sum(advertiser_id=advertiser.id) == Decimal("1000.00") - charged
    assert row.status in (Campaign.Status.OUT_OF_BUDGET, Campaign.Status.OUT_OF_DAILY_BUDGET)


def test_two_campaigns_sharing_a_small_balance_never_take_it_below_zero():
    rng = random.Random(16)
    first = make_campaign(bid="1.00", daily="100.00", total="100.00", balance="9.00")
    second = make_campaign(bid="1.00", daily="100.00", total="100.00", advertiser=first.advertiser)
    served = _serve_many(first, 30, rng) + _serve_many(second, 30, rng)
    rng.shuffle(served)
    outcomes = _click_all([s.impression_id for s in served])
    charged = sum((o.amount for o in outcomes if o.billed), Decimal(0))
    advertiser = Advertiser.objects.get(id=first.advertiser_id)
    assert Decimal("9.00") - Decimal("1.00") <= charged <= Decimal("9.00")
    assert advertiser.balance == Decimal("9.00") - charged == selectors.ledger_sum(advertiser_id=advertiser.id)
    assert advertiser.balance >= 0
    assert {o.reason for o in outcomes if not o.billed} == {"balance"}
    assert billing.campaign_books(first.id)["agree"] and billing.campaign_books(second.id)["agree"]


def test_a_double_click_from_many_threads_at_once_is_billed_once():
    campaign = make_campaign(bid="1.00")
    impression = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER,
                                          now=LATE)[0].impression_id
    outcomes = _click_all([impression] * THREADS * 2)
    assert sum(o.billed for o in outcomes) == 1
    assert Click.objects.filter(impression_id=impression).count() == THREADS * 2
    assert {o.reason for o in outcomes if not o.billed} == {"repeat"}
    assert Campaign.objects.get(id=campaign.id).spend_total == Decimal("1.00")


def test_concurrent_beacons_and_flushes_keep_ledger_plus_accrued_equal_to_the_counters():
    campaign = make_campaign(pricing="cpm", bid="30.00", daily="0.50", total="0.50")
    served = []
    for _ in range(40):
        served += events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER, now=LATE)
    ids = [s.impression_id for s in served]
    barrier = threading.Barrier(THREADS + 1)

    def beacon(chunk):
        try:
            barrier.wait()
            return [events.viewable_record(impression_id=i, at=LATE + SECOND * 2) for i in chunk]
        finally:
            connection.close()

    def flush():
        try:
            barrier.wait()
            return [billing.cpm_flush() for _ in range(20)]
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS + 1) as pool:
        beacons = [pool.submit(beacon, ids[i::THREADS]) for i in range(THREADS)]
        flushes = pool.submit(flush)
        answers = [a for f in beacons for a in f.result()]
        flushes.result()
    billing.cpm_flush()
    books = billing.campaign_books(campaign.id)
    assert answers.count("accepted") == 40
    assert books["agree"] and books["accrued"] == 0
    assert books["spend_total"] == Decimal("0.0300") * 16  # 0.03 an impression: 16 fit in 0.50, the rest unbilled
    advertiser = Advertiser.objects.get(id=campaign.advertiser_id)
    assert advertiser.accrued == 0
    assert advertiser.balance == selectors.ledger_sum(advertiser_id=advertiser.id) == Decimal("1000") - books["ledger"]
