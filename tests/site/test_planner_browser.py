"""The keyword planner in a real browser (Playwright driving Debian's headless Chromium) against the
server `make demo` runs: a company's member opens the planner from the campaign page, asks for
suggestions around a seed, adds one that readers searched beside it with exact match, and finds it
in the campaign; a reader's search page on a phone offers the related search. No
Content-Security-Policy violation on the way. Screenshots in
var/screenshots/planner/."""
import datetime as dt
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from django.conf import settings
from django.db import connection
from django.utils import timezone

from recommender import activity, cooccurrence
from tests.ads.conftest import PASSWORD, make_company
from tests.site.test_browser import browser, site_server  # noqa: F401 - fixtures

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "planner")


def _searches(count, queries, prefix):
    at = timezone.now() - dt.timedelta(days=1)
    activity.activities_write([
        activity.activity_row(kind="search", reader_key=f"{prefix}{n}", at=at + dt.timedelta(minutes=m), query=q)
        for n in range(count) for m, q in enumerate(queries)])


@pytest.fixture
def company(transactional_db):
    """Company A (tests/ads/conftest.py) and readers who searched 展览制作 and 展台设计 together."""
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)
    made = make_company("A", staff=staff)
    _searches(9, ["展览制作", "展台设计"], "r")
    _searches(12, ["冷链物流", "报关"], "bg")
    _searches(6, ["展览制作报价"], "x")
    cooccurrence.model_rebuild()
    from contentlib.models import Question  # noqa: PLC0415

    Question.objects.create(text="展台设计", normalized_text="展台设计", slug="zhan-tai-she-ji", status="published")
    return made


def test_a_member_adds_a_suggested_keyword_from_the_planner(company, tmp_path, browser):  # noqa: F811

    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    refused = []
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        page.goto(f"{base}/portal/login/")
        page.fill("#id_username", company.member.user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/portal/")
        page.goto(f"{base}/portal/campaigns/{company.campaign.id}/")
        page.click("text=关键词规划")
        page.wait_for_selector("form.planner")
        page.fill("#id_seeds", "展览 制作")
        page.click("form.planner button.primary")
        row = page.locator("tr[data-keyword='展台设计']")
        row.wait_for()
        assert "同一批读者还搜索了" in row.inner_text() and "数据不足" in row.inner_text()
        page.screenshot(path=SCREENSHOTS / "01-suggestions.png", full_page=True)

        row.locator("select[name=match_type]").select_option("exact")
        row.locator("button[type=submit]").click()
        page.wait_for_selector("tr[data-keyword='展台设计'] >> text=已在此推广计划中")
        assert "1 个关键词中已添加 1 个" in page.inner_text("body")
        page.screenshot(path=SCREENSHOTS / "02-added.png", full_page=True)

        page.goto(f"{base}/portal/campaigns/{company.campaign.id}/")
        keywords = page.inner_text("table.keywords")
        assert "展台设计" in keywords and "精确" in keywords
        page.screenshot(path=SCREENSHOTS / "03-campaign-keywords.png", full_page=True)
        context.close()

        # A reader's search page offers the published question readers searched beside it.
        reader = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
        page = reader.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        page.goto(f"{base}/search/?q=展览制作")
        related = page.inner_text("aside.related-searches")
        assert "相关搜索" in related and "展台设计" in related
        page.screenshot(path=SCREENSHOTS / "04-search-related-searches-phone.png", full_page=True)
        reader.close()
    assert refused == []
    # Playwright's event loop runs in this thread: the ORM from another one.
    def added():
        try:
            return company.campaign.keywords.values_list("match_type", "review").get(text="展台设计")
        finally:
            connection.close()  # this thread's connection, or the test database cannot be dropped

    with ThreadPoolExecutor(1) as pool:
        keyword = pool.submit(added).result()
    assert keyword == ("exact", "pending")
