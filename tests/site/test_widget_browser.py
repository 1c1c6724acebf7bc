"""The widget in a real browser (Playwright, Debian's headless Chromium): the example host page
(fixtures/widget_host/index.html) served by a second HTTP server on another port shows the
library's labelled sponsored cards, sends a card's viewability beacon, and its click is redirected
and billed once on the widget's placement; the same page from an origin that is not the placement's
is refused (CORS) and nothing is served; markup in an advertiser's name and a promoted title stays
text (markup in the parameters: tests/site/test_widget_api.py). Screenshots
go to var/screenshots/widget/."""
import functools
import html
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from contentlib.models import Article

from ads.models import Advertiser, Click, Impression, LedgerEntry, Placement
from tests.site.test_browser import browser, site_server  # noqa: F401 - fixtures
from tests.site.test_sponsored_browser import COMPANIES, PARAGRAPH, PERSON, _orm, sponsored  # noqa: F401 - fixtures

SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "widget")
EXAMPLE = Path(settings.BASE_DIR, "fixtures", "widget_host", "index.html")
QUESTION = "冷链物流温控方案怎么做？"
HOSTILE = '"><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture
def host_site(tmp_path):
    """A second HTTP server (another port: another origin) for the host pages; yields its port."""
    root = tmp_path / "host"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def host_page(root: Path, library: str, *, question: str, answer: str, placement: str = "host-a") -> None:
    page = EXAMPLE.read_text(encoding="utf-8").replace("LIBRARY_ORIGIN", library)
    page = page.replace('data-placement="demo-host"', f'data-placement="{placement}"')
    page = page.replace('data-q="仓储机器人多久能回本？"', f'data-q="{html.escape(question)}"')
    page = page.replace('data-answer="按节省的人工成本测算，仓储机器人通常两到三年回本，订单量越大回本越快。"',
                        f'data-answer="{html.escape(answer)}"')
    (root / "index.html").write_text(page, encoding="utf-8")


def test_the_widget_works_on_its_host_and_is_refused_elsewhere(sponsored, browser, host_site, tmp_path):  # noqa: F811
    root, port = host_site
    _orm(lambda: Placement.objects.create(slug="host-a", kind=Placement.Kind.WIDGET, name="Host A",
                                          allowed_domains=["localhost"]))
    # Markup in what the widget shows: an advertiser's name and a promoted article's title.
    _orm(lambda: Advertiser.objects.filter(name=COMPANIES[0][0]).update(name=COMPANIES[0][0] + HOSTILE))
    _orm(lambda: Article.objects.filter(title=COMPANIES[1][1]).update(title=COMPANIES[1][1] + HOSTILE))
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    names = {c[0] for c in COMPANIES}
    with site_server(tmp_path) as base:
        host_page(root, base, question=QUESTION, answer=PARAGRAPH)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 800}, user_agent=PERSON)
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        # Its host (localhost, one of the placement's allowed domains): labelled cards.
        page.goto(f"http://localhost:{port}/index.html")
        page.wait_for_selector(".contentlib-widget[data-state=ready]", timeout=30000)
        cards = page.locator(".contentlib-widget .sponsored-card")
        assert cards.count() == 2
        for i in range(2):
            text = cards.nth(i).inner_text()
            assert "广告" in text and any(name in text for name in names), text
        # Markup from the library stays text: nothing injected ran or was added.
        assert any(HOSTILE in cards.nth(i).inner_text() for i in range(2))
        assert page.evaluate("window.__xss") is None and dialogs == []
        assert page.locator(".contentlib-widget img, .contentlib-widget script").count() == 0
        # Both cards in view for over a second: their beacons sent (from the host's page to the library).
        page.wait_for_selector(".contentlib-widget .sponsored-card[data-viewable=sent] >> nth=1", timeout=10000)
        page.screenshot(path=SCREENSHOTS / "01-host-page.png", full_page=True)

        first = cards.nth(0).locator("a")
        href, title = first.get_attribute("href"), first.inner_text()
        assert href.startswith(f"{base}/c/")
        first.click()
        page.wait_for_url(f"{base}/articles/*/")
        assert title in page.locator("h1").inner_text()
        page.screenshot(path=SCREENSHOTS / "02-click-landed.png")
        page.goto(href)  # again: redirected, not billed twice
        page.wait_for_url(f"{base}/articles/*/")

        # The same page from another origin (127.0.0.1 is not the placement's): refused, nothing shown.
        page.goto(f"http://127.0.0.1:{port}/index.html")
        page.wait_for_selector(".contentlib-widget[data-state=failed]", state="attached", timeout=30000)
        assert page.locator(".contentlib-widget .sponsored-card").count() == 0
        page.screenshot(path=SCREENSHOTS / "03-refused-origin.png", full_page=True)
        context.close()

    def events():
        served = list(Impression.objects.filter(placement__slug="host-a").order_by("position")
                      .values_list("position", "invalid_reason", "viewable_at"))
        clicks = list(Click.objects.filter(placement__slug="host-a").order_by("at").values_list("billed", flat=True))
        clicked = Impression.objects.filter(placement__slug="host-a", clicks__isnull=False).distinct().get()
        charges = list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, campaign_id=clicked.campaign_id)
                       .values_list("amount", flat=True))
        return served, clicks, charges, -clicked.price

    served, clicks, charges, price = _orm(events)
    assert [(p, r) for p, r, _ in served] == [(1, ""), (2, "")]  # the refused origin was served nothing
    assert all(viewable is not None for _, _, viewable in served)
    assert clicks == [True, False] and charges == [price]
