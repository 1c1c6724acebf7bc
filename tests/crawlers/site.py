"""A small local website for end-to-end crawls: every case the crawler must record correctly.

Articles are corpus articles wrapped in the clutter real sites have (navigation, share bar, related
posts, a "contact us" advert, reader comments with their own later dates, footer), so the known
main text of each page is the corpus body. The server counts requests in flight to check the
crawler's per-domain concurrency cap.
"""
import html
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contentlib import corpus

SECRET_TEXT = "ZEBRA-SECRET-7781 this sentence exists only on a page robots.txt forbids"
MAX_PAGE_BYTES = 100_000  # the crawl under test gets CRAWL_MAX_PAGE_BYTES=100000
CHAIN_LENGTH = 12  # /old/chain-1.html redirects to chain-2 ... to chain-13: more than CRAWL_MAX_REDIRECTS (10)
DROP_CONNECTION = 0  # a Route status: close the connection without answering


def article_page(article, *, canonical: str | None = None, charset_meta: str | None = "utf-8",
                 body: str | None = None) -> str:
    """Returns a cluttered article page around the corpus article's title and paragraphs."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in (body.split("\n\n") if body else article.paragraphs))
    head = [f'<meta charset="{charset_meta}">'] if charset_meta else []
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    head.append(f'<meta name="author" content="{html.escape(article.author)}">')
    head.append(f'<meta property="article:published_time" content="{article.published.isoformat()}T09:00:00+08:00">')
    lang = "zh-CN" if article.lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head>{''.join(head)}<title>{html.escape(article.title)} - Industry Notes</title></head>
<body>
<header><nav class="main-nav"><a href="/">Home</a> <a href="/list/2.html">More</a> <a href="/about.html">About</a></nav></header>
<div class="share-bar">Share: <a href="https://share.example/x">X</a> <a href="https://share.example/weibo">微博</a></div>
<main><article>
<h1>{html.escape(article.title)}</h1>
<p class="byline">{html.escape(article.author)} · <time datetime="{article.published.isoformat()}">{article.published}</time></p>
{paragraphs}
</article>
<aside class="related-posts"><h3>Related posts</h3><ul>
<li><a href="/articles/related-1.html">Five trends to watch this year</a></li>
<li><a href="/articles/related-2.html">How we cut costs by a third</a></li></ul></aside>
<div class="contact-us"><h3>Contact us</h3><p>Call 400-800-1234 for a free consultation with our advisers.</p></div>
<section class="comments" id="comments"><h3>Comments (1)</h3>
<div class="comment"><span class="comment-author">reader42</span> <time datetime="2026-02-01T10:00:00">2026-02-01</time>
<p>Thanks for sharing, very helpful. 谢谢分享！</p></div></section>
</main>
<footer>Copyright 2025 Industry Notes · <a href="/privacy.html">Privacy</a></footer>
</body></html>"""


def listing_page(title: str, links: list[tuple[str, str]], next_url: str | None) -> str:
    items = "\n".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
    pager = f'<a class="next" href="{next_url}">Next page</a>' if next_url else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav><a href="/">Home</a></nav><h1>{title}</h1><ul>{items}</ul><div class="pager">{pager}</div></body></html>"""


@dataclass
class Route:
    status: int
    content_type: str
    body: bytes
    headers: tuple = ()


def _articles():
    by_id = {a.id: a for a in corpus.articles() + corpus.near_duplicates()}
    return by_id


# Which corpus article each crawlable article page shows, and its known main text for benchmarks.
PAGE_ARTICLES = {
    "/articles/gbk.html": "zh-ai-01",
    "/articles/nocharset.html": "zh-fin-01",
    "/articles/wrongcharset.html": "zh-log-01",
    "/articles/same.html": "en-ai-01",
    "/articles/original.html": "en-exh-01",
    "/articles/near-dup.html": "en-exh-01-nd",
    "/articles/flaky.html": "en-fin-01",
    "/articles/moved-target.html": "zh-med-01",
    "/articles/zh-canonical.html": "zh-mfg-01",
    # Reached only through discovery: the feed the blog's <head> declares, and the sitemap.
    "/blog/post-1.html": "en-ai-02",
    "/blog/post-2.html": "zh-fin-02",
    "/blog/from-sitemap.html": "zh-log-02",
}
# The blog's feed: its item links carry tracking parameters, which the crawl folds away.
BLOG_FEED_LINKS = ("/blog/post-1.html?utm_source=rss&utm_medium=feed&utm_campaign=weekly",
                   "/blog/post-2.html?utm_source=rss#comments")


def build_routes(base: str) -> dict[str, Route]:
    """Every path of the site; `base` is the server's own http://127.0.0.1:port."""
    arts = _articles()
    html_utf8 = "text/html; charset=utf-8"

    def page(path, **kwargs):
        return article_page(arts[PAGE_ARTICLES[path]], **kwargs)

    tiny = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Coming soon</title></head>"
            "<body><main><h1>Coming soon</h1><p>More soon.</p></main></body></html>")
    oversized = page("/articles/same.html").replace("</article>", "<p>" + "padding text " * 12_000 + "</p></article>")
    secret = article_page(arts["en-log-01"], body=SECRET_TEXT + "\n\n" + "\n\n".join(arts["en-log-01"].paragraphs))
    routes = {
        "/robots.txt": Route(200, "text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/": Route(200, html_utf8, listing_page("Industry Notes", [
            ("/articles/gbk.html", "GBK"), ("/articles/nocharset.html", "No charset"),
            ("/articles/wrongcharset.html", "Wrong charset"), ("/articles/same.html", "Same article"),
            ("/articles/original.html", "Original"), ("/private/secret.html", "Members only"),
            ("/files/report.pdf", "Annual report (PDF)"), ("/articles/missing.html", "Missing"),
            ("/articles/flaky.html", "Flaky"), ("/old/moved.html", "Moved"),
            ("/articles/huge.html", "Huge"), ("/articles/tiny.html", "Tiny"),
            ("/old/loop-a.html", "Loop"), ("/old/self.html", "Self"), ("/old/offsite.html", "Off-site"),
            ("/old/to-same.html", "Same again"), ("/old/chain-1.html", "Long chain"),
        ], "/list/2.html").encode()),
        "/list/2.html": Route(200, html_utf8, listing_page("Page 2", [
            ("/articles/zh-canonical.html?page=1", "Canonical link"),
        ], "/list/3.html").encode()),
        "/list/3.html": Route(200, html_utf8, listing_page("Page 3", [
            ("/articles/same.html?utm_source=newsletter&utm_medium=email#comments", "Same article, tracked"),
            ("/articles/near-dup.html", "Near duplicate"),
        ], None).encode()),
        "/articles/gbk.html": Route(200, "text/html; charset=gbk", page("/articles/gbk.html", charset_meta="gbk").encode("gbk")),
        "/articles/nocharset.html": Route(200, "text/html", page("/articles/nocharset.html", charset_meta=None).encode("gbk")),
        # GBK bytes behind a header and a <meta> that both claim UTF-8.
        "/articles/wrongcharset.html": Route(200, html_utf8, page("/articles/wrongcharset.html").encode("gbk")),
        "/articles/same.html": Route(200, html_utf8, page("/articles/same.html").encode()),
        "/articles/original.html": Route(200, html_utf8, page("/articles/original.html").encode()),
        "/articles/near-dup.html": Route(200, html_utf8, page("/articles/near-dup.html").encode()),
        "/articles/flaky.html": Route(200, html_utf8, page("/articles/flaky.html").encode()),
        "/articles/moved-target.html": Route(200, html_utf8, page("/articles/moved-target.html").encode()),
        "/articles/zh-canonical.html": Route(200, html_utf8, page(
            "/articles/zh-canonical.html", canonical=f"{base}/articles/zh-canonical.html").encode()),
        "/old/moved.html": Route(301, html_utf8, b"", (("Location", f"{base}/articles/moved-target.html"),)),
        # Redirects the crawl must record rather than follow (crawlers.spiders.base.redirect_refusal).
        "/old/loop-a.html": Route(302, html_utf8, b"", (("Location", "/old/loop-b.html"),)),
        "/old/loop-b.html": Route(302, html_utf8, b"", (("Location", f"{base}/old/loop-a.html"),)),
        "/old/self.html": Route(301, html_utf8, b"", (("Location", "/old/self.html"),)),
        "/old/offsite.html": Route(301, html_utf8, b"", (("Location", "https://elsewhere.example/landing.html"),)),
        "/old/to-same.html": Route(301, html_utf8, b"", (("Location", "/articles/same.html"),)),
        **{f"/old/chain-{n}.html": Route(301, html_utf8, b"", (("Location", f"/old/chain-{n + 1}.html"),))
           for n in range(1, CHAIN_LENGTH + 1)},
        "/private/secret.html": Route(200, html_utf8, secret.encode()),
        # A blog front page that links none of its posts: only the feed in its <head> lists them.
        "/blog/": Route(200, html_utf8, listing_page("Blog", [("/about.html", "About")], None).replace(
            '<nav><a href="/">Home</a></nav>', "").replace("<title>", '<link rel="alternate" type="application/rss+xml" title="Blog" href="/feeds/blog.xml"><title>',
            1).encode()),
        "/feeds/blog.xml": Route(200, "application/rss+xml; charset=utf-8", (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>'
            + "".join(f"<item><title>Post</title><link>{html.escape(base + link)}</link></item>"
                      for link in BLOG_FEED_LINKS)
            + "</channel></rss>").encode()),
        "/sitemap.xml": Route(200, "application/xml", (
            '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{base}/blog/from-sitemap.html?utm_source=sitemap</loc></url></urlset>").encode()),
        **{path: Route(200, html_utf8, page(path).encode())
           for path in ("/blog/post-1.html", "/blog/post-2.html", "/blog/from-sitemap.html")},
        "/files/report.pdf": Route(200, "application/pdf", b"%PDF-1.4\n" + b"0" * 5000),
        "/articles/huge.html": Route(200, html_utf8, oversized.encode()),
        "/articles/tiny.html": Route(200, html_utf8, tiny.encode()),
    }
    return routes


class TestSite:
    """A threaded HTTP server on 127.0.0.1 serving `build_routes`, counting concurrent requests."""

    __test__ = False  # not a pytest test class

    def __init__(self, delay: float = 0.03):
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.hits: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.serve(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.routes = build_routes(self.base)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def serve(self, handler):
        path = handler.path.split("?")[0].split("#")[0]
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.hits[path] = self.hits.get(path, 0) + 1
            hit = self.hits[path]
        try:
            time.sleep(self.delay)
            route = self.routes.get(path)
            if route is None:
                self._send(handler, Route(404, "text/html", b"<html><body>Not found</body></html>"))
            elif path == "/articles/flaky.html" and hit % 2 == 1:
                # Every first attempt fails; the retry succeeds (so each crawl sees one 500 then a 200).
                self._send(handler, Route(500, "text/html", b"<html><body>Server error</body></html>"))
            else:
                self._send(handler, route, stream=path == "/articles/huge.html")
        finally:
            with self.lock:
                self.in_flight -= 1

    @staticmethod
    def _send(handler, route: Route, stream: bool = False):
        if route.status == DROP_CONNECTION:
            handler.close_connection = True
            return
        handler.send_response(route.status)
        handler.send_header("Content-Type", route.content_type)
        for name, value in route.headers:
            handler.send_header(name, value)
        if not stream:
            # Without Content-Length the body ends when the connection closes: the size guard
            # must then count bytes as they arrive.
            handler.send_header("Content-Length", str(len(route.body)))
        handler.end_headers()
        try:
            handler.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler stopped reading (size limit or not HTML): expected
