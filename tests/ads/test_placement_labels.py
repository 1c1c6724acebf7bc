"""Placements are data, but the site's own page types (made by the migrations, the site and the demo
under English names) show translated wherever a placement is shown: the reports pages (table, chart,
filter), the exports, the portal's reports and admin; a name staff gave a placement shows as typed."""
import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from ads.models import Placement
from tests.ads.test_exports import RANGE, analyst, content, owner_of, parse_csv
from tests.ads.test_reports import traffic  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

SITE = {  # the migrations' placements: slug → (English, Chinese)
    "question": ("Question page", "问答页"), "search": ("Search results", "搜索结果页"),
    "article": ("Article page", "文章页"), "home": ("Home page", "首页"), "article_list": ("Article list", "文章列表页"),
    "ask_wait": ("Page waiting for an answer", "等待回答页"),
}
ZH, EN = {"accept-language": "zh-hans"}, {"accept-language": "en"}


def test_the_migrations_placements_are_shown_in_the_active_language():
    placements = {p.slug: p for p in Placement.objects.filter(slug__in=SITE)}
    assert set(placements) == set(SITE)
    assert all(p.name == SITE[slug][0] for slug, p in placements.items())  # stored in English
    for language, column in (("en", 0), ("zh-hans", 1)):
        with translation.override(language):
            assert {slug: p.label for slug, p in placements.items()} == {s: names[column] for s, names in SITE.items()}
            assert str(placements["search"]) == SITE["search"][column]


def test_a_name_staff_gave_is_shown_as_typed_and_no_name_as_the_slug():
    typed = Placement.objects.create(slug="partner-a", kind=Placement.Kind.WIDGET, name="合作伙伴 A 站挂件")
    bare = Placement.objects.create(slug="partner-b", kind=Placement.Kind.WIDGET)
    renamed = Placement.objects.create(slug="question-2", kind=Placement.Kind.QUESTION, name="Question page, right")
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert (typed.label, bare.label, renamed.label) == ("合作伙伴 A 站挂件", "partner-b", "Question page, right")


def test_a_default_name_stored_in_chinese_is_translated_too():
    """Older demo data stored the kind's label in the language active then."""
    placement = Placement.objects.create(slug="home-zh", kind=Placement.Kind.HOME, name="首页")
    with translation.override("en"):
        assert placement.label == "Home page"


@pytest.mark.parametrize(("headers", "column"), [(ZH, 1), (EN, 0)])
def test_the_analysts_reports_page_shows_the_translated_placement(client, traffic, headers, column):  # noqa: F811
    shown, other = SITE["question"][column], SITE["question"][1 - column]
    client.force_login(analyst())
    body = client.get(reverse("reports:index"), RANGE, headers=headers).content.decode()
    assert f"<td>{shown}</td>" in body  # the table
    assert f">{shown}</option>" in body  # the placement filter
    assert body.count(shown) >= 3  # ... and the top-placements chart
    assert other not in body


@pytest.mark.parametrize(("headers", "column"), [(ZH, 1), (EN, 0)])
def test_the_portals_reports_page_shows_the_translated_placement(client, traffic, headers, column):  # noqa: F811
    client.force_login(owner_of(traffic["cpc"].advertiser))
    body = client.get(reverse("portal:reports"), RANGE, headers=headers).content.decode()
    assert f"<td>{SITE['question'][column]}</td>" in body and SITE["question"][1 - column] not in body


@pytest.mark.parametrize(("headers", "column"), [(ZH, 1), (EN, 0)])
def test_the_exports_name_the_placement_in_the_language_of_their_headers(client, traffic, headers, column):  # noqa: F811
    shown = SITE["question"][column]
    client.force_login(analyst())
    header, *rows = parse_csv(content(client.get(reverse("reports:export_report_csv"), RANGE, headers=headers)))
    place = header.index(("Placement", "广告位")[column])
    assert rows and {row[place] for row in rows} == {shown}
    book = load_workbook(io.BytesIO(client.get(reverse("reports:export_report_xlsx"), RANGE, headers=headers).content),
                         read_only=True)
    header, *rows = list(book.worksheets[0].values)
    assert rows and {row[header.index(("Placement", "广告位")[column])] for row in rows} == {shown}
    # The click log: COPY on PostgreSQL, Python rows on SQLite.
    header, *rows = parse_csv(content(client.get(reverse("reports:export_clicks_csv"), RANGE, headers=headers)))
    assert rows and {row[header.index(("Placement", "广告位")[column])] for row in rows} == {shown}


@pytest.mark.parametrize(("headers", "column"), [(ZH, 1), (EN, 0)])
def test_admin_shows_the_translated_placement(admin_client, traffic, headers, column):  # noqa: F811
    shown = SITE["question"][column]
    body = admin_client.get(reverse("admin:ads_auctionlog_changelist"), headers=headers).content.decode()
    assert f'<td class="field-placement nowrap">{shown}</td>' in body  # the auctions' list
    assert f'">{SITE["home"][column]}</a>' in body  # its placement filter
    assert SITE["question"][1 - column] not in body
