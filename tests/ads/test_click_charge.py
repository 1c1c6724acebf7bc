"""A charged click on PostgreSQL (ads.billing.cpc_charge): the read of its impression, then one
statement that is its own transaction outside any transaction of the caller's. All of it or
nothing: a refusal by the balance or a repeat leaves no counter moved and no ledger entry."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ads import billing, events
from ads.models import Advertiser, Campaign, Click, LedgerEntry
from tests.ads.tracking_helpers import NOON, READER, make_campaign, placement, result_for

AFTER = NOON + dt.timedelta(seconds=5)


def serve(campaign):
    return events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER,
                                    now=NOON)[0].impression_id


def counters(campaign):
    row = Campaign.objects.get(id=campaign.id)
    advertiser = Advertiser.objects.get(id=campaign.advertiser_id)
    return row.spend_total, row.spend_today, advertiser.balance, LedgerEntry.objects.filter(kind="charge").count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL; a transaction elsewhere")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # autocommit, as in a web worker
def test_in_autocommit_a_charged_click_is_two_statements_and_writes_click_and_ledger_together():
    campaign = make_campaign(bid="1.00")
    impression = serve(campaign)
    assert connection.get_autocommit() and not connection.in_atomic_block
    with CaptureQueriesContext(connection) as queries:
        outcome = events.click_record(impression_id=impression, visitor=READER, at=AFTER)
    assert outcome.billed and outcome.article_published
    assert len(queries.captured_queries) == 2, [q["sql"][:80] for q in queries.captured_queries]
    click = Click.objects.get(id=outcome.click_id)
    entry = LedgerEntry.objects.get(id=click.ledger_entry_id)
    assert (click.billed, click.amount, entry.amount, entry.event) == (True, outcome.amount, -outcome.amount,
                                                                        f"click:{click.id}")
    assert entry.balance_after == Advertiser.objects.get(id=campaign.advertiser_id).balance
    assert billing.campaign_books(campaign.id)["agree"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_autocommit_a_click_the_balance_cannot_pay_for_moves_nothing():
    campaign = make_campaign(bid="1.00", balance="0.50")
    before = counters(campaign)
    outcome = events.click_record(impression_id=serve(campaign), visitor=READER, at=AFTER)
    assert (outcome.billed, outcome.reason) == (False, "balance")
    assert counters(campaign) == before  # the campaign's update was undone with the refused statement
    assert Click.objects.get(id=outcome.click_id).reason == "balance"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_autocommit_a_second_billed_click_on_one_impression_is_undone_whole_and_recorded_repeat():
    campaign = make_campaign(bid="1.00")
    impression = serve(campaign)
    first = events.click_record(impression_id=impression, visitor=READER, at=AFTER)
    before = counters(campaign)
    # As if two clicks had read the impression unclicked at once: the second's statement breaks
    # click_billed_once, and the conditional updates and ledger entry it made go with it.
    target = events.click_target(impression)
    target = events.ClickTarget(**{**target.__dict__, "clicked": False})
    assert first.billed
    click = Click(impression_id=impression, campaign_id=campaign.id, at=AFTER, ad_day=NOON.date())
    charge = billing.cpc_charge(click=click, target=target, at=AFTER)
    assert (charge.entry_id, charge.reason) == (None, "repeat")
    assert counters(campaign) == before
    assert Click.objects.filter(impression_id=impression).count() == 2


@pytest.mark.django_db
def test_inside_a_transaction_a_refused_charge_leaves_the_transaction_usable():
    campaign = make_campaign(bid="1.00", balance="0.50")
    outcome = events.click_record(impression_id=serve(campaign), visitor=READER, at=AFTER)
    assert outcome.reason == "balance"
    assert Campaign.objects.get(id=campaign.id).spend_total == Decimal(0)  # the savepoint undid it; queries still run
