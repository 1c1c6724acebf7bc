"""Impressions, viewability and clicks (ads/events.py): each recorded once, with its reason; the
first valid click of an impression charged once, in the ledger with what it paid for."""
import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest

from ads import billing, events
from ads.models import Advertiser, Campaign, Click, Impression, LedgerEntry
from tests.ads.tracking_helpers import BOT, NOON, READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
SECOND = dt.timedelta(seconds=1)


def serve(campaign, visitor=READER, at=NOON, **kwargs):
    return events.impressions_serve(result=result_for(campaign, **kwargs), placement=placement(), visitor=visitor,
                                    now=at)[0]


def test_each_slot_served_is_an_impression_with_its_own_id():
    a, b = make_campaign(), make_campaign()
    served = events.impressions_serve(result=result_for(a, b), placement=placement(), visitor=READER, now=NOON)
    assert [s.campaign_id for s in served] == [a.id, b.id]
    assert len({s.impression_id for s in served}) == 2
    row = Impression.objects.get(id=served[0].impression_id)
    assert (row.ad_day, row.reader_key, row.ip_prefix, row.invalid_reason) == (dt.date(2026, 12, 1), READER.reader_key,
                                                                               "203.0.113.0", "")
    assert served[0].advertiser_name == a.advertiser.name
    assert events.impression_served(served[1].impression_id).campaign_id == b.id


def test_impressions_served_later_get_greater_ids_so_the_primary_key_grows_at_its_right_edge():
    """Version-7 ids (time first): the impression table's primary key is written at its rightmost
    leaf instead of a random one (docs/TRACKING.md, "What a served impression costs the database")."""
    campaign = make_campaign()
    first = events.impressions_serve(result=result_for(campaign, campaign), placement=placement(), visitor=READER,
                                     now=NOON)
    time.sleep(0.002)  # the next millisecond
    later = serve(campaign)
    ids = [s.impression_id for s in first]
    assert {i.version for i in ids} == {7} and len(set(ids)) == 2
    assert later.impression_id.version == 7 and later.impression_id > max(ids)
    assert Impression.objects.order_by("-id").first().id == later.impression_id


def test_impression_ids_made_in_one_millisecond_still_increase():
    ids = [events.impression_id_new() for _ in range(2000)]

    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(type(i) is uuid.UUID and i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)


def test_an_unknown_or_malformed_impression_id_is_not_served():
    assert events.impression_served(uuid.uuid4()) is None
    assert events.impression_served("not-a-uuid") is None


def test_invalid_traffic_and_previews_are_recorded_with_their_reason():
    campaign = make_campaign()
    assert serve(campaign, visitor=BOT).invalid_reason == "bot"
    preview = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER, now=NOON,
                                       preview=True)[0]
    assert Impression.objects.get(id=preview.impression_id).invalid_reason == "preview"


def test_the_first_valid_click_is_charged_once_with_a_ledger_entry_naming_what_it_paid_for():
    campaign = make_campaign(bid="1.20")
    served = serve(campaign)
    first = events.click_record(impression_id=served.impression_id, visitor=READER, at=NOON + 5 * SECOND)
    again = events.click_record(impression_id=served.impression_id, visitor=READER, at=NOON + 9 * SECOND)
    assert (first.billed, first.reason, first.amount) == (True, "", Decimal("1.2000"))
    assert (again.billed, again.reason) == (False, "repeat")
    entry = LedgerEntry.objects.get(kind="charge")
    assert entry.amount == Decimal("-1.20")
    assert (entry.campaign_id, entry.keyword_id, entry.placement_id, entry.ad_day, entry.units) == (
        campaign.id, campaign.keywords.get().id, placement().id, dt.date(2026, 12, 1), 1)
    assert entry.event == f"click:{first.click_id}"
    assert Click.objects.get(id=first.click_id).ledger_entry_id == entry.id
    assert Advertiser.objects.get(id=campaign.advertiser_id).balance == Decimal("998.80") == entry.balance_after
    assert billing.campaign_books(campaign.id)["agree"]
    assert Campaign.objects.get(id=campaign.id).spend_today == Decimal("1.20")
    assert first.promotion_id == campaign.promotions.get().id


@pytest.mark.parametrize("problem", ["token_tampered", "token_expired", "token_unknown"])
def test_a_click_with_a_bad_token_is_recorded_and_never_charged(problem):
    campaign = make_campaign()
    served = serve(campaign)
    outcome = events.click_record(impression_id=served.impression_id, visitor=READER, token_problem=problem,
                                  at=NOON + 5 * SECOND)
    assert (outcome.billed, outcome.reason) == (False, problem)
    assert Click.objects.get(id=outcome.click_id).reason == problem
    assert not LedgerEntry.objects.filter(kind="charge").exists()
    # ... and a later good click on the same impression is a repeat: billed once at most, never after a bad one
    assert events.click_record(impression_id=served.impression_id, visitor=READER).reason == "repeat"


def test_a_click_on_an_impression_never_served_is_recorded_not_served():
    outcome = events.click_record(impression_id=uuid.uuid4(), visitor=READER, at=NOON)
    assert (outcome.billed, outcome.reason, outcome.campaign_id) == (False, "not_served", None)
    assert Click.objects.get(id=outcome.click_id).impression_id is None


def test_invalid_visitors_and_invalid_impressions_are_never_charged():
    campaign = make_campaign()
    by_bot = events.click_record(impression_id=serve(campaign).impression_id, visitor=BOT, at=NOON + 5 * SECOND)
    on_bot_impression = events.click_record(impression_id=serve(campaign, visitor=BOT).impression_id, visitor=READER,
                                            at=NOON + 5 * SECOND)
    preview = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER, now=NOON,
                                       preview=True)[0]
    on_preview = events.click_record(impression_id=preview.impression_id, visitor=READER, at=NOON + 5 * SECOND)
    assert [(o.billed, o.reason) for o in (by_bot, on_bot_impression, on_preview)] == [
        (False, "bot"), (False, "bot"), (False, "preview")]
    assert Campaign.objects.get(id=campaign.id).spend_total == 0


def test_a_click_on_a_cpm_impression_is_recorded_but_not_charged():
    campaign = make_campaign(pricing="cpm", bid="20.00")
    outcome = events.click_record(impression_id=serve(campaign).impression_id, visitor=READER, at=NOON + 5 * SECOND)
    assert (outcome.billed, outcome.reason) == (False, "")
    assert Campaign.objects.get(id=campaign.id).spend_total == 0


def test_a_beacon_is_accepted_once_for_a_served_impression_not_earlier_than_a_second():
    campaign = make_campaign(pricing="cpm", bid="20.00")
    served = serve(campaign)
    assert events.viewable_record(impression_id=uuid.uuid4(), at=NOON + 2 * SECOND) == "unknown"
    assert events.viewable_record(impression_id=served.impression_id, at=NOON + SECOND / 2) == "too_early"
    assert Campaign.objects.get(id=campaign.id).accrued == 0  # too early changed nothing
    assert events.viewable_record(impression_id=served.impression_id, at=NOON + 2 * SECOND) == "accepted"
    assert events.viewable_record(impression_id=served.impression_id, at=NOON + 3 * SECOND) == "duplicate"
    row = Campaign.objects.get(id=campaign.id)
    assert (row.accrued, row.spend_total) == (Decimal("0.0200"), Decimal("0.0200"))
    assert Advertiser.objects.get(id=campaign.advertiser_id).accrued == Decimal("0.0200")
    assert Impression.objects.get(id=served.impression_id).viewable_at == NOON + 2 * SECOND


def test_a_beacon_for_invalid_traffic_marks_it_viewable_but_bills_nothing():
    campaign = make_campaign(pricing="cpm", bid="20.00")
    served = serve(campaign, visitor=BOT)
    assert events.viewable_record(impression_id=served.impression_id, at=NOON + 2 * SECOND) == "invalid"
    assert Campaign.objects.get(id=campaign.id).accrued == 0


def test_the_flush_moves_accrued_cpm_into_one_entry_per_keyword_placement_and_day():
    campaign = make_campaign(pricing="cpm", bid="12.34")
    for i in range(3):
        served = serve(campaign, at=NOON + i * SECOND)
        events.viewable_record(impression_id=served.impression_id, at=NOON + (i + 2) * SECOND)
    before = billing.campaign_books(campaign.id)
    assert (before["accrued"], before["ledger"], before["agree"]) == (Decimal("0.0369"), 0, True)
    assert billing.cpm_flush() == 1
    assert billing.cpm_flush() == 0  # nothing twice
    entry = LedgerEntry.objects.get(kind="charge")
    assert (entry.amount, entry.units, entry.ad_day) == (Decimal("-0.0369"), 3, dt.date(2026, 12, 1))
    after = billing.campaign_books(campaign.id)
    assert (after["accrued"], after["ledger"], after["spend_total"], after["agree"]) == (
        0, Decimal("0.0369"), Decimal("0.0369"), True)
    advertiser = Advertiser.objects.get(id=campaign.advertiser_id)
    assert (advertiser.balance, advertiser.accrued) == (Decimal("999.9631"), 0)


def test_a_click_over_the_daily_budget_is_unbilled_and_the_campaign_is_marked_out_of_it():
    campaign = make_campaign(bid="1.00", daily="2.00", total="100.00")
    at = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.timezone.utc)  # 23:30 in Shanghai: pacing allows the whole day
    outcomes = [events.click_record(impression_id=serve(campaign, at=at).impression_id, visitor=READER,
                                    at=at + 5 * SECOND) for _ in range(3)]
    assert [(o.billed, o.reason) for o in outcomes] == [(True, ""), (True, ""), (False, "daily_budget")]
    assert Campaign.objects.get(id=campaign.id).status == Campaign.Status.OUT_OF_DAILY_BUDGET


def test_a_click_the_balance_cannot_pay_for_is_unbilled_and_changes_no_counter():
    campaign = make_campaign(bid="1.00", balance="0.50")
    outcome = events.click_record(impression_id=serve(campaign).impression_id, visitor=READER, at=NOON + 5 * SECOND)
    assert (outcome.billed, outcome.reason) == (False, "balance")
    row = Campaign.objects.get(id=campaign.id)
    assert (row.spend_total, row.spend_today) == (0, 0)  # the savepoint undid the campaign's half
    assert Advertiser.objects.get(id=campaign.advertiser_id).balance == Decimal("0.50")
