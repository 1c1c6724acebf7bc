"""The editors' admin in a real browser (Playwright driving Debian's headless Chromium) against the
server `make demo` runs: `runserver` with DEBUG=0 after `collectstatic`, static files through
WhiteNoise. The demo editor signs in, the admin's stylesheet loads, one article is approved and one
rejected with a reason from their change pages, and a revision is approved from its diff; no
Content-Security-Policy violation on the way; then the readers' home and 404 pages. Screenshots go
to var/screenshots/admin/."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from contentlib import demo, services
from contentlib.models import Article, ArticleRevision, ModerationEvent, Source
from crawlers.models import CrawlPage, CrawlRun
from crawlers.runner import crawl_command_env
from tests.conftest import _require

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(settings.BASE_DIR, "var", "screenshots", "admin")
TEXT = ("智能仓储正在改变物流行业。AGV小车在夜间完成补货，分拣效率提升了三成。\n"
        "一家华东的第三方物流企业在去年完成了立体库改造，库存周转天数从二十一天降到十四天。\n"
        "企业负责人表示，下一步将把温控数据接入运输管理系统，实现冷链全程可追溯。")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def library(transactional_db):
    """Two pending articles, a published one with a pending revision, a crawl run, the demo accounts."""
    source = Source.objects.create(name="产业观察网", slug="watch", kind=Source.Kind.SITE, start_urls=["https://w.example/"])
    approve = services.article_upsert(title="智能仓储：AGV夜间补货", text=TEXT, origin="crawled", source_id=source.id,
                                      canonical_url="https://w.example/a/1").article
    reject = services.article_upsert(title="某平台称其冷库全国第一，欢迎致电咨询", text=TEXT + "\n请拨打热线了解详情。",
                                     origin="crawled", source_id=source.id, canonical_url="https://w.example/a/2").article
    published = services.article_upsert(title="冷链物流的温控数据", text=TEXT + "\n冷藏车温度每分钟上传一次。",
                                        origin="crawled", source_id=source.id,
                                        canonical_url="https://w.example/a/3").article
    services.article_approve(article_id=published.id, reason="demo data")
    revision = services.article_upsert(
        title="冷链物流的温控数据", text=TEXT + "\n冷藏车温度每三十秒上传一次，异常时立即报警。", origin="crawled",
        source_id=source.id, canonical_url="https://w.example/a/3", proposed_by="crawl of watch").revision
    run = CrawlRun.objects.create(source=source, status=CrawlRun.Status.FINISHED, counts={"saved": 3, "redirect_loop": 1})
    CrawlPage.objects.create(run=run, url="https://w.example/old/loop-b", outcome=CrawlPage.Outcome.REDIRECT_LOOP,
                             reason="redirect loop", redirect_chain=["https://w.example/old/loop-a",
                                                                     "https://w.example/old/loop-b",
                                                                     "https://w.example/old/loop-a"])
    password, _ = demo.demo_users_ensure()
    return {"approve": approve, "reject": reject, "published": published, "revision": revision, "run": run,
            "password": password}


def admin_sign_in(page, base: str, path: str, username: str, password: str) -> None:
    """Signs in on Django admin's login page, asking to go on to `path` (the caller waits for it)."""
    page.goto(f"{base}/admin/login/?next={urllib.parse.quote(path, safe='/')}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


@contextlib.contextmanager
def site_server(tmp_path, **extra_env):
    """`collectstatic`, then `runserver` with DEBUG=0 on this test database, as `make demo` serves;
    yields its base URL and stops it afterwards."""
    environment = {**crawl_command_env(), "DEBUG": "0", "LOCAL_SECRET_KEY": "1", "STATIC_ROOT": str(tmp_path / "static"),
                   **extra_env}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=settings.BASE_DIR,
                   env=environment, check=True, timeout=300)
    port = _free_port()
    log = tmp_path / "runserver.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                                  cwd=settings.BASE_DIR, env=environment, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"runserver did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def demo_server(library, tmp_path):
    """The site as `make demo` serves it, on this test database."""
    with site_server(tmp_path) as base:
        yield base


@pytest.fixture
def browser():
    _require(os.access(CHROMIUM, os.X_OK),
             f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium fonts-wqy-zenhei; .ci/run does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM is used before and after, not meanwhile.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_demo_editor_moderates_in_the_browser(library, demo_server, browser):
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    ids = {name: library[name].id for name in ("approve", "reject", "published", "revision", "run")}
    # An editor in China: the browser asks for Chinese, as the admin's default is.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused, static = [], {}
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    page.on("response", lambda response: "/static/" in response.url and static.setdefault(response.url, response.status))

    admin_sign_in(page, demo_server, "/admin/", "demo-editor", library["password"])
    page.wait_for_url(f"{demo_server}/admin/")
    page.screenshot(path=SCREENSHOTS / "01-index.png", full_page=True)
    # The admin's stylesheet loaded (it was a 404 under `make demo`): the header takes its colour from it.
    assert page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor") not in ("", "rgba(0, 0, 0, 0)")
    css = [url for url in static if "/static/admin/css/base" in url]
    assert css and all(static[url] == 200 for url in css), static
    assert "内容库" in page.inner_text("#site-name") and "文章" in page.inner_text("#content")

    page.goto(f"{demo_server}/admin/contentlib/article/")
    assert "选择 文章 来修改" in page.inner_text("#content")
    page.screenshot(path=SCREENSHOTS / "02-queue.png", full_page=True)

    page.goto(f"{demo_server}/admin/contentlib/article/{ids['approve']}/change/")
    page.screenshot(path=SCREENSHOTS / "03-article-before.png", full_page=True)
    page.click("form.moderation-approve button")
    page.wait_for_selector("ul.messagelist li.success")
    assert "已通过" in page.inner_text("ul.messagelist")
    page.screenshot(path=SCREENSHOTS / "04-article-approved.png", full_page=True)

    page.goto(f"{demo_server}/admin/contentlib/article/{ids['reject']}/change/")
    page.fill("form.moderation-reject textarea[name=reason]", "软文广告，不符合收录标准")
    page.click("form.moderation-reject button")
    page.wait_for_selector("ul.messagelist li.success")
    assert "已驳回" in page.inner_text("ul.messagelist")
    page.screenshot(path=SCREENSHOTS / "05-article-rejected.png", full_page=True)

    page.goto(f"{demo_server}/admin/contentlib/article/{ids['published']}/change/")
    page.click("p.moderation-note a")  # the pending revision's link, on the article's page
    page.wait_for_selector("table.diff")
    assert "每三十秒" in page.inner_text("table.diff")
    page.screenshot(path=SCREENSHOTS / "06-revision-diff.png", full_page=True)
    page.click("form.moderation-approve button")
    page.wait_for_selector("ul.messagelist li.success")
    assert "新正文已发布" in page.inner_text("ul.messagelist")
    page.screenshot(path=SCREENSHOTS / "07-revision-approved.png", full_page=True)

    page.goto(f"{demo_server}/admin/crawlers/crawlrun/{ids['run']}/change/")
    assert "重定向循环" in page.inner_text("#content")
    page.screenshot(path=SCREENSHOTS / "08-crawl-run.png", full_page=True)

    # The readers' side: the published articles, and an error page in the site's layout.
    page.goto(f"{demo_server}/")
    assert "智能仓储：AGV夜间补货" in page.inner_text("main")  # approved a moment ago
    assert page.eval_on_selector("header", "e => getComputedStyle(e).display") == "flex"  # site.css loaded
    page.screenshot(path=SCREENSHOTS / "09-site-home.png", full_page=True)
    page.goto(f"{demo_server}/no-such-page/")
    assert "页面不存在" in page.inner_text("main") and page.is_visible("main a[href='/']")
    page.screenshot(path=SCREENSHOTS / "10-site-404.png", full_page=True)
    context.close()
    assert refused == [], refused
    assert len(list(SCREENSHOTS.glob("*.png"))) == 10

    def recorded():
        approved, rejected = Article.objects.get(id=ids["approve"]), Article.objects.get(id=ids["reject"])
        assert approved.status == Article.Status.APPROVED and rejected.status == Article.Status.REJECTED
        assert rejected.rejection_reason == "软文广告，不符合收录标准"
        assert ArticleRevision.objects.get(id=ids["revision"]).status == ArticleRevision.Status.APPROVED
        assert "每三十秒" in Article.objects.get(id=ids["published"]).text
        actions = ModerationEvent.objects.filter(actor__username="demo-editor").values_list("action", flat=True)
        assert set(actions) == {"approve", "reject", "approve_revision"}
        connection.close()

    # Playwright's event loop still runs in this thread, where Django refuses the ORM: ask from another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(recorded).result()
