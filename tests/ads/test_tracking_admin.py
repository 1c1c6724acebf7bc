"""Staff see impressions, clicks (with their charge and its ledger entry), rollups and export jobs in admin,
read-only; a billed click found invalid is credited from its list."""
import datetime as dt

import pytest
from django.urls import reverse

from ads import events, rollups
from ads.models import Click, LedgerEntry
from tests.ads.tracking_helpers import LATE, READER, make_campaign, placement, result_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed(staff):
    campaign = make_campaign(bid="1.30")
    served = events.impressions_serve(result=result_for(campaign), placement=placement(), visitor=READER, now=LATE)[0]
    outcome = events.click_record(impression_id=served.impression_id, visitor=READER,
                                  at=LATE + dt.timedelta(seconds=5))
    rollups.rollups_recompute(day=dt.date(2026, 12, 1), now=LATE)
    return campaign, Click.objects.get(id=outcome.click_id)


def test_a_click_shows_its_charge_and_ledger_entry(client, staff, billed):
    campaign, click = billed
    client.force_login(staff)
    page = client.get(reverse("admin:ads_click_changelist")).content.decode()
    assert campaign.name in page and "1.3000" in page
    assert reverse("admin:ads_ledgerentry_change", args=[click.ledger_entry_id]) in page
    entry = client.get(reverse("admin:ads_ledgerentry_change", args=[click.ledger_entry_id])).content.decode()
    assert f"click:{click.id}" in entry
    for name in ("impression", "dailyrollup"):
        assert client.get(reverse(f"admin:ads_{name}_changelist")).status_code == 200


def test_events_cannot_be_added_changed_or_deleted(client, staff, billed):
    _campaign, click = billed
    client.force_login(staff)
    assert client.get(reverse("admin:ads_click_add")).status_code == 403
    assert client.post(reverse("admin:ads_click_delete", args=[click.id]), {"post": "yes"}).status_code == 403
    assert Click.objects.filter(id=click.id).exists()


def test_staff_credit_a_billed_click_from_the_list(client, staff, billed):
    _campaign, click = billed
    client.force_login(staff)
    client.post(reverse("admin:ads_click_changelist"), {"action": "credit_selected", "_selected_action": [click.id]})
    credit = LedgerEntry.objects.get(kind="credit")
    assert credit.event == f"click:{click.id}" and credit.reverses_id == click.ledger_entry_id


def test_staff_follow_export_jobs_in_admin_read_only(client, staff):
    from ads.models import ExportJob

    job = ExportJob.objects.create(user=staff, kind="clicks_csv", status="failed", rows_total=19, rows_done=7,
                                   error="磁盘已满：导出目录没有空间。")
    client.force_login(staff)
    page = client.get(reverse("admin:ads_exportjob_changelist")).content.decode()
    assert "clicks_csv" in page and ">7<" in page and ">19<" in page
    assert "磁盘已满" in client.get(reverse("admin:ads_exportjob_change", args=[job.id])).content.decode()
    assert client.post(reverse("admin:ads_exportjob_delete", args=[job.id]), {"post": "yes"}).status_code == 403
