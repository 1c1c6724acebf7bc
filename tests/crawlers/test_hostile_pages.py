"""Crawled bytes a site should never send, through the real crawl (`manage.py crawl` in its own process
against a local server): pages truncated mid-tag or mid-UTF-8 sequence, a charset that lies, an empty
body, a PNG or a PDF served as text/html, 20 MB, ten thousand nested divs, NUL bytes, JSON-LD nested
thousands deep. Each URL ends recorded with its outcome and a reason, the crawl goes on to the next,
and the run finishes."""
import re

from contentlib.models import Source
from crawlers.models import CrawlPage, CrawlRun
from tests.crawlers.site import Route, TestSite, _articles, article_page, listing_page

O = CrawlPage.Outcome
HTML = "text/html; charset=utf-8"


def hostile_routes() -> dict[str, Route]:
    """Each page shows its own corpus article, so that none is refused as a duplicate of another."""
    arts = _articles()

    def page(article_id: str, **kwargs) -> str:
        return article_page(arts[article_id], **kwargs)

    zh_bytes = page("zh-med-02").encode()
    cut = zh_bytes.index("。".encode(), len(zh_bytes) // 2) + 1  # right after a three-byte character ...
    nested = page("en-mfg-02").replace("<article>", "<article>" + "<div>" * 10_000).replace(
        "</article>", "</div>" * 10_000 + "</article>")
    deep_ld = '<script type="application/ld+json">' + "[" * 20_000 + "]" * 20_000 + "</script>"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    twenty_mb = page("en-log-03").replace("</article>", "<p>" + "x" * (20 * 1024 * 1024) + "</p></article>")
    return {
        "/h/truncated-mid-tag.html": Route(200, HTML, page("en-ai-03")[:page("en-ai-03").index("</article>") + 5].encode()),
        "/h/truncated-mid-utf8.html": Route(200, HTML, zh_bytes[:cut + 1]),  # ... then one byte of the next
        "/h/declares-gbk-is-utf8.html": Route(200, "text/html; charset=gbk", page("zh-fin-03", charset_meta="gbk").encode()),
        "/h/declares-utf8-is-shift-jis.html": Route(200, HTML, "東京の物流倉庫では自動化が進んでいる。".encode("shift_jis") * 200),
        "/h/unknown-charset.html": Route(200, "text/html; charset=x-no-such-charset",
                                         page("en-fin-02", charset_meta="x-no-such-charset").encode()),
        "/h/empty.html": Route(200, HTML, b""),
        "/h/png-as-html.html": Route(200, HTML, png),
        "/h/pdf-as-html.html": Route(200, HTML, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40),
        "/h/twenty-mb.html": Route(200, HTML, twenty_mb.encode()),
        "/h/nested-divs.html": Route(200, HTML, nested.encode()),
        "/h/nul-bytes.html": Route(200, HTML, page("en-med-02").replace("</h1>", "\x00</h1>").replace(
            "</p>", "\x00 </p>").encode()),
        "/h/deep-json-ld.html": Route(200, HTML, page("en-exh-02").replace("</head>", deep_ld + "</head>").encode()),
        "/h/lone-surrogate.html": Route(200, HTML, page("zh-log-03").encode().replace("。".encode(), b"\xed\xa0\x80", 3)),
    }


def test_every_hostile_page_is_recorded_with_a_reason_and_the_crawl_goes_on(run_crawl):
    with TestSite(delay=0) as site:
        routes = hostile_routes()
        site.routes.update(routes)
        Source.objects.create(name="Hostile", slug="hostile", kind=Source.Kind.SITE,
                              start_urls=[site.base + p for p in routes], allow_patterns=[r"/nothing-is-followed$"])
        # 1 MB: ten thousand nested divs fit, 20 MB does not.
        result = run_crawl("hostile", CRAWL_MAX_PAGE_BYTES="1000000")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = CrawlRun.objects.get()
    pages = {page.url.removeprefix(site.base): page for page in run.pages.all()}
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
    assert set(pages) == set(routes), sorted(set(routes) - set(pages))
    for path, page in pages.items():
        assert page.outcome in O.values, path
        assert page.outcome in (O.SAVED, O.DUPLICATE, O.NEAR_DUPLICATE) or page.reason, (path, page.outcome)
    assert pages["/h/twenty-mb.html"].outcome == O.TOO_LARGE
    # Its depth named (10,000 divs in the page's own elements), not just "no text".
    assert re.search(r"the page nests elements 100\d\d deep and the HTML parser stops at 256",
                     pages["/h/nested-divs.html"].reason), pages["/h/nested-divs.html"].reason
    assert pages["/h/png-as-html.html"].outcome != O.SAVED and pages["/h/pdf-as-html.html"].outcome != O.SAVED
    assert pages["/h/empty.html"].outcome != O.SAVED
    # Saved ones are saved right: the charset that lies is not believed, NULs are dropped.
    arts = _articles()
    for path, article_id in [("/h/declares-gbk-is-utf8.html", "zh-fin-03"), ("/h/unknown-charset.html", "en-fin-02"),
                             ("/h/nul-bytes.html", "en-med-02"), ("/h/deep-json-ld.html", "en-exh-02"),
                             ("/h/truncated-mid-tag.html", "en-ai-03")]:
        article = pages[path].article
        assert pages[path].outcome == O.SAVED and article.title == arts[article_id].title, path
        assert arts[article_id].paragraphs[0][:40] in article.text and "\x00" not in article.title + article.text, path


def test_a_link_too_long_to_keep_is_recorded_once_not_dropped(run_crawl):
    """Found by this sweep: Scrapy's URLLENGTH_LIMIT (2,083) dropped a link's request with a debug log
    line and no record. It is recorded, once however many pages link to it, and the crawl goes on."""
    long_path = "/h/long-" + "x" * 3000 + ".html"
    with TestSite(delay=0) as site:
        site.routes["/h/list.html"] = Route(200, HTML, listing_page("List", [(long_path, "long"), ("/h/a.html", "a")],
                                                                    "/h/list-2.html").encode())
        site.routes["/h/list-2.html"] = Route(200, HTML, listing_page("List 2", [(long_path, "again")], None).encode())
        site.routes["/h/a.html"] = Route(200, HTML, article_page(_articles()["en-med-03"]).encode())
        site.routes[long_path] = site.routes["/h/a.html"]
        Source.objects.create(name="Long", slug="long", kind=Source.Kind.SITE, start_urls=[site.base + "/h/list.html"],
                              allow_patterns=[r"/h/"])
        result = run_crawl("long")
    assert result.returncode == 0, result.stderr[-3000:]
    pages = list(CrawlRun.objects.get().pages.all())
    refused = [page for page in pages if page.outcome == O.INVALID]
    assert len(refused) == 1 and f"{len(site.base + long_path):,} characters" in refused[0].reason, [(p.url[:60], p.outcome) for p in pages]
    assert refused[0].url == (site.base + long_path)[:2000]
    assert {p.url.removeprefix(site.base) for p in pages if p.outcome == O.SAVED} == {"/h/a.html"}
