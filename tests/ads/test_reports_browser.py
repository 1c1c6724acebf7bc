"""The analysts' reports page in a real browser (headless Chromium, the server as `make demo` runs
it): an analyst signs in, sees the charts, changes a filter and sees the figures change; no
Content-Security-Policy violation. Screenshots go to var/screenshots/reports/."""
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from contentlib.roles import ANALYSTS
from tests.conftest import groups_ready
from tests.ads.test_reports import DAY, NEXT, traffic  # noqa: F401  (the fixture)
from tests.site.test_browser import admin_sign_in, browser, site_server  # noqa: F401  (the fixture, the server)

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "reports")


@pytest.fixture(autouse=True)
def _fast_passwords():
    """The server signs in with the production hashers: tests/ads/conftest.py's MD5 would not verify there."""


@pytest.fixture
def ids(traffic):  # noqa: F811
    """The traffic and an analyst, made before the browser starts (its event loop bars the ORM)."""
    groups_ready()  # a transactional test's flush removes the migrations' groups (and can take permissions)
    user = get_user_model().objects.create_user("analyst-b", "a@example.com", "pw-analyst", is_staff=True)
    user.groups.add(Group.objects.get(name=ANALYSTS))
    return {"cpc": traffic["cpc"].id}


def test_an_analyst_changes_a_filter_and_sees_the_charts(ids, browser, tmp_path):  # noqa: F811
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        refused = []
        page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
        target = f"/reports/?date_from={DAY.isoformat()}&date_to={NEXT.isoformat()}"
        admin_sign_in(page, base, target, "analyst-b", "pw-analyst")
        page.wait_for_selector("section.charts svg")
        assert page.locator("section.charts svg").count() == 6  # the whole site: no top keywords
        assert page.locator('[data-metric="spend"]').inner_text() == "13.73"
        # The charts' stylesheet applied: pygal's plot background is white, not the default black fill.
        fill = page.evaluate("getComputedStyle(document.querySelector('.pygal-chart .plot .background')).fill")
        assert fill in ("rgb(255, 255, 255)", "#ffffff")
        page.screenshot(path=str(SCREENSHOTS / "1-all-campaigns.png"), full_page=True)
        page.select_option("#id_campaign", str(ids["cpc"]))
        page.click("form.filters button[type=submit]")
        page.wait_for_url(f"**campaign={ids['cpc']}**")
        assert page.locator('[data-metric="spend"]').inner_text() == "11.07"
        assert page.locator("#id_campaign").input_value() == str(ids["cpc"])
        assert page.locator("section.charts svg").count() == 7  # one campaign: its top keywords too
        page.screenshot(path=str(SCREENSHOTS / "2-one-campaign.png"), full_page=True)
        page.locator("section.charts").screenshot(path=str(SCREENSHOTS / "3-charts.png"))
        context.close()
    assert refused == []
