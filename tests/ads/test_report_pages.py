"""The reports pages: the analysts' /reports/ (read only) and the portal's own report, with SVG charts
that hold no script and no inline style (the CSP), a sortable table, and the advertiser's scope."""
import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from ads.models import AdvertiserUser
from contentlib.roles import ANALYSTS
from tests.ads.test_reports import DAY, NEXT, traffic  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
RANGE = {"date_from": DAY.isoformat(), "date_to": NEXT.isoformat()}


def analyst():
    user = get_user_model().objects.create_user("ana", "ana@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=ANALYSTS))
    return user


def test_the_analysts_page_shows_charts_under_the_csp(client, traffic):  # noqa: F811
    client.force_login(analyst())
    response = client.get(reverse("reports:index"), RANGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<svg") == 6  # the whole site: no top keywords (they need an advertiser or a campaign)
    assert 'data-note="keywords"' in body
    assert "<script" not in body and not re.search(r"\sstyle=", body) and "<style" not in body
    assert "Asia/Shanghai" in body
    assert 'data-metric="spend">13.73<' in body
    css = client.get(reverse("reports:charts_css"))
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css") and ".pygal-chart" in css.content.decode()


def test_a_filter_changes_the_figures(client, traffic):  # noqa: F811
    client.force_login(analyst())
    body = client.get(reverse("reports:index"), {**RANGE, "campaign": traffic["other"].id}).content.decode()
    assert 'data-metric="spend">2.61<' in body
    assert body.count("<svg") == 7 and 'data-note="keywords"' not in body  # one campaign: its top keywords too
    body = client.get(reverse("reports:index"), {**RANGE, "traffic": "invalid"}).content.decode()
    assert 'data-metric="spend">0.00<' in body and 'data-metric="clicks">0<' in body


def test_the_table_sorts_by_a_column(client, traffic):  # noqa: F811
    client.force_login(analyst())
    body = client.get(reverse("reports:index"), {**RANGE, "sort": "-spend"}).content.decode()
    spends = [float(v) for v in re.findall(r'<td class="num">([\d.]+)</td>\s*<td class="num">\d+</td>\s*</tr>', body)]
    assert spends == sorted(spends, reverse=True) and len(spends) == 4
    assert 'aria-sort="descending"' in body


def test_reconciliation_shows_no_differences(client, traffic):  # noqa: F811
    client.force_login(analyst())
    body = client.get(reverse("reports:reconciliation"), RANGE).content.decode()
    assert 'data-differences="0"' in body


def test_an_end_date_before_the_start_is_explained(client, traffic):  # noqa: F811
    client.force_login(analyst())
    body = client.get(reverse("reports:index"), {"date_from": NEXT.isoformat(), "date_to": DAY.isoformat()},
                      headers={"accept-language": "zh-hans"}).content.decode()
    assert "结束日期早于开始日期" in body


def test_non_analysts_are_refused_and_anonymous_users_sent_to_sign_in(client, traffic):  # noqa: F811
    response = client.get(reverse("reports:index"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    user = get_user_model().objects.create_user("reader", "r@example.com", "pw")
    client.force_login(user)
    assert client.get(reverse("reports:index")).status_code == 403
    AdvertiserUser.objects.create(user=user, advertiser=traffic["other"].advertiser, role="owner")
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(reverse("reports:reconciliation")).status_code == 403


def test_the_portal_report_is_the_advertisers_own_whatever_the_filters(client, traffic):  # noqa: F811
    user = get_user_model().objects.create_user("owner-b", "b@example.com", "pw")
    AdvertiserUser.objects.create(user=user, advertiser=traffic["other"].advertiser, role="owner")
    client.force_login(user)
    for sneaky in ({}, {"advertiser": traffic["cpc"].advertiser_id}, {"campaign": traffic["cpc"].id}):
        body = client.get(reverse("portal:reports"), {**RANGE, **sneaky}).content.decode()
        assert traffic["cpc"].name not in body
        assert 'data-metric="spend">2.61<' in body or 'data-metric="spend">0.00<' in body
    assert body.count("<svg") == 7 and "<script" not in body
    assert "conversion-setup" in body  # the owner sees the conversion secret


def test_a_long_range_is_charted_by_week_with_the_same_sums(client, traffic):  # noqa: F811
    """Over WEEKLY_AFTER_DAYS days the daily charts become weekly (a year of daily bars is unreadable,
    and pygal's time grows with the bars); the weeks add up to the totals."""
    from ads import charts, reports  # noqa: PLC0415

    year = reports.ReportFilters(date_from=NEXT - dt.timedelta(days=364), date_to=NEXT)
    report = reports.report_build(viewer=reports.Viewer(advertiser_id=None, analyst=True), filters=year)
    weekly, weeks = charts._periods(report)
    assert weekly and len(weeks) in (53, 54)
    for name in ("served_all", "viewable", "clicks_valid", "clicks_invalid", "spend_cents"):
        assert sum(week[name] for week in weeks) == report.totals[name]
    client.force_login(analyst())
    body = client.get(reverse("reports:index"), {"date_from": year.date_from.isoformat(),
                                                 "date_to": NEXT.isoformat()}).content.decode()
    assert "每周展示" in body and "每日展示" not in body  # the page's language is Chinese by default
    assert "每日展示" in client.get(reverse("reports:index"), RANGE).content.decode()
