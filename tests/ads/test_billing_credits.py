"""Credits (ads/billing.py event_credit): a billed click or viewable impression later found invalid
is credited back by an entry that reverses its charge and names it; the event is marked credited."""
import datetime as dt
from decimal import Decimal

import pytest

from ads import billing, events, selectors
from ads.models import Advertiser, Campaign, Click, Impression, LedgerEntry
from contentlib.errors import ApplicationError
from tests.ads.tracking_helpers import BOT, LATE, READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db
SECOND = dt.timedelta(seconds=1)


def billed_click(campaign):
    served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER, now=LATE)[0]
    return events.click_record(impression_id=served.impression_id, visitor=READER, at=LATE + 5 * SECOND)


def test_a_credit_reverses_one_click_names_it_and_marks_it_credited(staff):
    campaign = make_campaign(bid="1.50")
    kept, credited = billed_click(campaign), billed_click(campaign)
    entry = billing.event_credit(event=f"click:{credited.click_id}", actor=staff, reason="点击农场")
    click = Click.objects.get(id=credited.click_id)
    assert (entry.kind, entry.amount, entry.event, entry.reverses_id) == (
        "credit", Decimal("1.50"), f"click:{credited.click_id}", click.ledger_entry_id)
    assert str(credited.click_id) in entry.note and entry.actor_name == "staff"
    assert click.credited_at is not None
    row = Campaign.objects.get(id=campaign.id)
    assert row.spend_total == row.spend_today == Decimal("1.50")  # only the kept click is spent
    assert billing.campaign_books(campaign.id)["agree"]
    advertiser = Advertiser.objects.get(id=campaign.advertiser_id)
    assert advertiser.balance == Decimal("998.50") == selectors.ledger_sum(advertiser_id=advertiser.id)
    assert Click.objects.get(id=kept.click_id).credited_at is None


def test_an_event_is_credited_once_and_only_if_it_was_billed(staff):
    campaign = make_campaign()
    click = billed_click(campaign)
    billing.event_credit(event=f"click:{click.click_id}", actor=staff, reason="无效")
    with pytest.raises(ApplicationError) as twice:
        billing.event_credit(event=f"click:{click.click_id}", actor=staff, reason="无效")
    assert twice.value.extra["code"] == "noop"
    served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=BOT, now=LATE)[0]
    unbilled = events.click_record(impression_id=served.impression_id, visitor=BOT, at=LATE + 5 * SECOND)
    with pytest.raises(ApplicationError) as never:
        billing.event_credit(event=f"click:{unbilled.click_id}", actor=staff, reason="无效")
    assert never.value.extra["code"] == "noop"
    with pytest.raises(ApplicationError) as unknown:
        billing.event_credit(event="click:nonsense", actor=staff, reason="无效")
    assert unknown.value.extra["field"] == "event"
    assert LedgerEntry.objects.filter(kind="credit").count() == 1


def test_a_viewable_impression_not_yet_flushed_is_charged_in_its_batch_then_credited(staff):
    campaign = make_campaign(pricing="cpm", bid="25.00")
    ids = []
    for _ in range(2):
        served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER,
                                          now=LATE)[0]
        events.viewable_record(impression_id=served.impression_id, at=LATE + 2 * SECOND)
        ids.append(served.impression_id)
    entry = billing.event_credit(event=f"impression:{ids[0]}", actor=staff, reason="机房流量")
    batch = LedgerEntry.objects.get(kind="charge")
    assert (batch.amount, batch.units) == (Decimal("-0.0500"), 2)
    assert (entry.amount, entry.reverses_id) == (Decimal("0.0250"), batch.id)
    assert Impression.objects.get(id=ids[0]).credited_at is not None
    books = billing.campaign_books(campaign.id)
    assert books["agree"] and books["spend_total"] == Decimal("0.0250")


def test_only_staff_who_manage_balances_credit(editor):
    campaign = make_campaign()
    click = billed_click(campaign)
    with pytest.raises(ApplicationError) as refused:
        billing.event_credit(event=f"click:{click.click_id}", actor=editor, reason="无效")
    assert refused.value.extra["code"] == "forbidden"
