"""An editor reads a logged auction in Django admin, in a real browser (Playwright driving Debian's
headless Chromium, `runserver` with DEBUG=0): the winners, and why each other candidate lost, by
campaign name linked to the campaign's page. Screenshots go to var/screenshots/auction-admin/."""
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from ads.models import Placement
from tests.ads.test_auction import OFF_TOPIC, _fit_model, make_campaign, run  # noqa: F401 - fixture
from tests.ads.test_auction_log import losing_cases
from tests.site.test_browser import admin_sign_in, browser, site_server  # noqa: F401 - fixtures

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "auction-admin")
PASSWORD = "pw-for-tests-only"


@pytest.fixture
def logged(transactional_db):
    """One auction with a campaign for every way of losing, and a crowd under the relevance floor."""
    get_user_model().objects.create_superuser("editor", "editor@example.com", PASSWORD)
    cases = losing_cases()
    for _ in range(6):
        make_campaign(vector=OFF_TOPIC)
    # A transactional test before this one may have flushed the migration's placements.
    placement = Placement.objects.get_or_create(slug="question", defaults={"kind": "question", "name": "Question page"})[0]
    result = run(placement)
    return {"log_id": result.log_id, "cases": cases}


def test_an_editor_sees_why_each_candidate_of_an_auction_lost(logged, browser, tmp_path):  # noqa: F811
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    with site_server(tmp_path) as base:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900})
        page = context.new_page()
        target = f"/admin/ads/auctionlog/{logged['log_id']}/change/"
        admin_sign_in(page, base, target, "editor", PASSWORD)
        page.wait_for_url(f"{base}{target}")
        # The slots shown, by campaign and advertiser name, with the price paid; no raw JSON.
        won = page.locator(".field-what_won").inner_text()
        winner = logged["cases"]["won"]
        assert f"{winner.name} (#{winner.id})" in won and winner.advertiser.name in won, won
        assert "3.00 CPC" in won, won  # its bid and how it pays
        assert '"campaign":' not in page.content()
        assert page.locator(".field-normalized_question label").inner_text().startswith("匹配用的问题")
        lost = page.locator(".field-why_each_lost")
        text = lost.inner_text()
        for reason in ("rank", "floor", "negative_keyword", "hours", "language", "reserve"):
            campaign = logged["cases"][reason]
            assert f"{campaign.name} (#{campaign.id})" in text, (reason, text)
        # Each name links to its campaign's admin page.
        floor = logged["cases"]["floor"]
        link = lost.locator(f'a[href="/admin/ads/campaign/{floor.id}/change/"]')
        assert link.count() == 1
        page.screenshot(path=SCREENSHOTS / "01-auction-log.png", full_page=True)
        link.click()
        page.wait_for_url(f"{base}/admin/ads/campaign/{floor.id}/change/")
        assert floor.name in page.content()
        context.close()
