"""Who reaches which report, export and conversion URL. Walks every pattern of the reports namespace
(and the portal's Reports page), as tests/ads/test_portal_security.py walks the portal: an enterprise
user sees only its own advertiser's figures whatever ids its URL or filters carry; analysts read
everything and change nothing; anonymous users and readers read nothing."""
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from ads import exports, reports, rollups
from ads.models import Campaign, Click, DailyRollup, ExportJob, LedgerEntry, Placement
from contentlib.readers import ad_day
from contentlib.roles import ANALYSTS, GROUP_PERMISSIONS

pytestmark = pytest.mark.django_db

# The analysts' pages; everyone else gets 403 (anonymous users: the sign-in page).
ANALYSTS_ONLY = {"index", "reconciliation", "vip"}
# Exports: analysts' (everything) and enterprise users' (their own advertiser only).
EXPORTS = {"export_report_csv", "export_report_xlsx", "export_clicks_csv"}
# A job's pages, by id: its own user only.
JOBS = {"export_job", "export_download"}
POST_ONLY = {"export_start"}
PUBLIC = {"charts_css"}  # the charts' stylesheet: no data


def report_patterns() -> list[URLPattern]:
    namespace = get_resolver().namespace_dict["reports"][1]
    return [p for p in namespace.url_patterns if isinstance(p, URLPattern)]


def test_every_reports_url_is_classified():
    """A new URL must be added to a list here, so that the walks below cannot forget it."""
    names = {pattern.name for pattern in report_patterns()}
    assert names == ANALYSTS_ONLY | EXPORTS | JOBS | POST_ONLY | PUBLIC


@pytest.fixture
def figures(company_a, company_b):
    """A day of rollups and a click for each company's campaign."""
    placement = Placement.objects.get_or_create(slug="question", defaults={"kind": "question"})[0]
    today, now = ad_day(), timezone.now()
    for company in (company_a, company_b):
        keyword = company.campaign.keywords.filter(negative=False).first()
        DailyRollup.objects.create(campaign=company.campaign, keyword=keyword, placement=placement, ad_day=today,
                                   served=10, viewable=5, clicks_valid=2, clicks_billed=2, spend=Decimal("2.00"),
                                   computed_at=now)
        Click.objects.create(campaign=company.campaign, keyword=keyword, placement=placement, at=now, ad_day=today)
    rollups.campaign_rollups_rebuild()  # the campaign rollups, as the recompute would write them
    return {"today": today}


def markers(company) -> list[str]:
    return [company.advertiser.name, company.campaign.name]


def query_naming(company) -> dict:
    return {"advertiser": company.advertiser.id, "campaign": company.campaign.id,
            "keyword": company.campaign.keywords.first().id, "advertiser_id": company.advertiser.id,
            "campaign_id": company.campaign.id}


def job_of(user, company=None) -> ExportJob:
    viewer = reports.Viewer(advertiser_id=company.advertiser.id if company else None, analyst=company is None)
    return ExportJob.objects.create(user=user, advertiser_id=viewer.advertiser_id, kind="clicks_csv",
                                    filters=exports.filters_to_json(reports.filters_default()))


def body(response) -> str:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return data.decode("utf-8", "replace")


def test_an_enterprise_user_reaches_only_its_own_figures_through_every_url(client, company_a, company_b, figures):
    b_job = job_of(company_b.owner.user, company_b)
    client.force_login(company_a.owner.user)
    sneaky = query_naming(company_b)
    walked = 0
    for pattern in report_patterns():
        kwargs = {"job_id": b_job.id} if pattern.name in JOBS else {}
        url = reverse(f"reports:{pattern.name}", kwargs=kwargs)
        got = client.get(url, sneaky)
        if pattern.name in ANALYSTS_ONLY:
            assert got.status_code == 403, url
        elif pattern.name in JOBS:
            assert got.status_code == 404, url
        elif pattern.name in POST_ONLY:
            assert got.status_code == 405, url
        elif pattern.name in EXPORTS:
            assert got.status_code == 200, url
            if pattern.name != "export_report_xlsx":
                assert company_a.campaign.name in body(got), url
        text = "" if pattern.name == "export_report_xlsx" else body(got)
        for marker in markers(company_b):
            assert marker not in text, (url, marker)
        walked += 1
    portal = body(client.get(reverse("portal:reports"), sneaky))
    assert company_a.campaign.name in portal and not any(m in portal for m in markers(company_b))
    assert walked == len(report_patterns())


def test_an_enterprise_users_xlsx_holds_its_own_rows_only(client, company_a, company_b, figures):
    import io  # noqa: PLC0415

    from openpyxl import load_workbook  # noqa: PLC0415

    client.force_login(company_a.reporter.user)
    response = client.get(reverse("reports:export_report_xlsx"), query_naming(company_b))
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].values)[1:]
    assert {row[1] for row in rows} == {company_a.advertiser.name}


def test_an_enterprise_job_exports_its_own_advertiser_whatever_the_filters_said(company_a, company_b, figures,
                                                                                 settings, tmp_path):
    settings.EXPORT_DIR = tmp_path
    viewer = reports.Viewer(advertiser_id=company_a.advertiser.id, analyst=False)
    filters = reports.ReportFilters(date_from=figures["today"], date_to=figures["today"],
                                    advertiser_id=company_b.advertiser.id)
    job = exports.export_job_start(user=company_a.owner.user, viewer=viewer, kind="clicks_csv", filters=filters)
    assert job.filters["advertiser_id"] == company_a.advertiser.id
    exports.export_job_run(job_id=job.id)
    text = exports.export_path(ExportJob.objects.get(id=job.id)).read_text(encoding="utf-8-sig")
    assert company_a.campaign.name in text and company_b.campaign.name not in text


def test_analysts_read_every_report_and_change_nothing(client, company_a, company_b, figures):
    analyst = get_user_model().objects.create_user("ana", "ana@example.com", "pw", is_staff=True)
    analyst.groups.add(Group.objects.get(name=ANALYSTS))
    own_job = job_of(analyst)
    client.force_login(analyst)
    before = (LedgerEntry.objects.count(), tuple(Campaign.objects.values_list("id", "status", "max_bid")),
              DailyRollup.objects.count(), Click.objects.count())
    for pattern in report_patterns():
        kwargs = {"job_id": own_job.id} if pattern.name in JOBS else {}
        url = reverse(f"reports:{pattern.name}", kwargs=kwargs)
        got = client.get(url)
        expected = {"export_download": 404, "export_start": 405}.get(pattern.name, 200)  # the job has no file yet
        assert got.status_code == expected, (url, got.status_code)
        if pattern.name in (ANALYSTS_ONLY - {"vip"}) | EXPORTS - {"export_report_xlsx"}:  # vip: no campaigns
            text = body(got)
            assert company_a.campaign.name in text and company_b.campaign.name in text, url
        if pattern.name not in POST_ONLY:
            assert client.post(url).status_code in (403, 405), url
    assert (LedgerEntry.objects.count(), tuple(Campaign.objects.values_list("id", "status", "max_bid")),
            DailyRollup.objects.count(), Click.objects.count()) == before
    # The group itself holds only view permissions in ads.
    assert all(code.startswith("view_") for code in GROUP_PERMISSIONS[ANALYSTS]["ads"])


def test_anonymous_users_and_readers_read_nothing(client, company_a, figures):
    for pattern in report_patterns():
        if pattern.name in PUBLIC:
            continue
        kwargs = {"job_id": 1} if pattern.name in JOBS else {}
        url = reverse(f"reports:{pattern.name}", kwargs=kwargs)
        got = client.get(url)
        assert got.status_code in (302, 405), url
        assert company_a.campaign.name not in body(got)
    reader = get_user_model().objects.create_user("reader", "reader@example.com", "pw")
    client.force_login(reader)
    for pattern in report_patterns():
        if pattern.name in PUBLIC | POST_ONLY:
            continue
        kwargs = {"job_id": 1} if pattern.name in JOBS else {}
        got = client.get(reverse(f"reports:{pattern.name}", kwargs=kwargs))
        assert got.status_code == 403, pattern.name
        assert company_a.campaign.name not in body(got)


def test_a_staff_member_without_the_view_permissions_is_not_an_analyst(client, company_a, figures):
    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(reverse("reports:export_clicks_csv")).status_code == 403


def test_the_portal_reports_page_is_read_only(client, company_a):
    client.force_login(company_a.owner.user)
    assert client.post(reverse("portal:reports")).status_code == 405
    # A reporter sees the figures but not the conversion secret: that is the owner's.
    client.force_login(company_a.reporter.user)
    page = client.get(reverse("portal:reports")).content.decode()
    assert "conversion-setup" not in page


def test_every_conversion_url_refuses_an_unsigned_report(client):
    for name in ("conversion_pixel", "conversion_postback"):
        response = client.get(reverse(name)) if name == "conversion_pixel" else client.post(reverse(name), {})
        assert response.status_code in (403, 404), name
