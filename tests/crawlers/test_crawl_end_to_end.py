"""End-to-end crawls of the local test site into the database, in a subprocess as in production."""
from django.forms.models import model_to_dict

from contentlib import corpus
from contentlib import services as library
from contentlib.models import Article, ModerationEvent, Source
from crawlers.models import CrawlPage, CrawlRun
from tests.crawlers.site import CHAIN_LENGTH, DROP_CONNECTION, PAGE_ARTICLES, SECRET_TEXT, Route, TestSite

O = CrawlPage.Outcome
# The blog's pages are reached only through the feed and sitemap it declares (test_discovery.py),
# which the test-site source does not start from.
CRAWLED_ARTICLES = {path: cid for path, cid in PAGE_ARTICLES.items() if not path.startswith("/blog/")}


def expected_outcomes(base: str) -> dict[str, str]:
    """The fate of every URL of the test site, as the first crawl must record it."""
    return {
        f"{base}/": O.LISTING,
        f"{base}/list/2.html": O.LISTING,
        f"{base}/list/3.html": O.LISTING,
        f"{base}/articles/gbk.html": O.SAVED,
        f"{base}/articles/nocharset.html": O.SAVED,
        f"{base}/articles/wrongcharset.html": O.SAVED,
        f"{base}/articles/same.html": O.SAVED,
        f"{base}/articles/same.html?utm_source=newsletter&utm_medium=email": O.DUPLICATE,
        f"{base}/articles/original.html": O.SAVED,
        f"{base}/articles/near-dup.html": O.NEAR_DUPLICATE,
        f"{base}/articles/flaky.html": O.SAVED,  # a 500 first, then saved on retry
        f"{base}/articles/moved-target.html": O.SAVED,  # reached through a 301 from /old/moved.html
        f"{base}/articles/zh-canonical.html?page=1": O.SAVED,
        f"{base}/private/secret.html": O.ROBOTS_FORBIDDEN,
        f"{base}/files/report.pdf": O.NOT_HTML,
        f"{base}/articles/huge.html": O.TOO_LARGE,
        f"{base}/articles/tiny.html": O.TOO_SHORT,
        f"{base}/articles/missing.html": O.HTTP_ERROR,
        # Links in the pages' navigation, related posts and footer that the site does not serve.
        f"{base}/about.html": O.HTTP_ERROR,
        f"{base}/privacy.html": O.HTTP_ERROR,
        f"{base}/articles/related-1.html": O.HTTP_ERROR,
        f"{base}/articles/related-2.html": O.HTTP_ERROR,
        # Redirects not followed, each recorded under the last URL fetched (see test_redirects_...).
        f"{base}/old/loop-b.html": O.REDIRECT_LOOP,
        f"{base}/old/self.html": O.REDIRECT_LOOP,
        f"{base}/old/offsite.html": O.REDIRECT_OFFSITE,
        f"{base}/old/to-same.html": O.REDIRECT_DUPLICATE,
        f"{base}/old/chain-{CHAIN_LENGTH - 1}.html": O.REDIRECT_LOOP,  # the 11th redirect is one too many
    }


def outcomes_of(run: CrawlRun) -> dict[str, str]:
    return {page.url: page.outcome for page in run.pages.all()}


def test_crawl_records_each_page_fate_and_a_second_crawl_changes_nothing(run_crawl):
    with TestSite() as site:
        source = Source.objects.create(
            name="Test site", slug="test-site", kind=Source.Kind.SITE, start_urls=[f"{site.base}/"], trusted=True,
        )
        first = run_crawl("test-site")
        assert first.returncode == 0, first.stderr[-3000:]
        max_in_flight_first = site.max_in_flight
        second = run_crawl("test-site")
        assert second.returncode == 0, second.stderr[-3000:]
        hits = dict(site.hits)

    run1, run2 = CrawlRun.objects.order_by("id")
    expected = expected_outcomes(site.base)
    assert outcomes_of(run1) == expected
    assert run1.status == CrawlRun.Status.FINISHED and run1.finished_at is not None
    assert sum(run1.counts.values()) == len(expected)
    assert "已保存" in first.stdout and "HTTP 错误" in first.stdout  # the summary table, in LANGUAGE_CODE

    # Politeness: robots.txt kept the crawler away; the per-domain cap held.
    assert "/private/secret.html" not in hits
    assert not Article.objects.filter(text__contains="ZEBRA-SECRET").exists()
    assert SECRET_TEXT not in "".join(Article.objects.values_list("html", flat=True))
    assert 1 <= max_in_flight_first <= 2
    assert site.max_in_flight <= 2
    assert hits["/articles/flaky.html"] == 4  # a failure and a retry in each crawl

    # What was saved, and how.
    base = site.base
    pages = {p.url: p for p in run1.pages.select_related("article")}
    corpus_articles = {a.id: a for a in corpus.articles() + corpus.near_duplicates()}
    for path, corpus_id in CRAWLED_ARTICLES.items():
        url = base + path + ("?page=1" if path == "/articles/zh-canonical.html" else "")
        article, known = pages[url].article, corpus_articles[corpus_id]
        # Right characters whatever the charset label said; clutter and comments left out;
        # the date from the page's markup, not the comment's later timestamp.
        assert article.title == known.title
        assert known.paragraphs[0] in article.text and known.paragraphs[-1] in article.text
        for clutter in ("Related posts", "Contact us", "400-800-1234", "谢谢分享", "Share:", "Copyright"):
            assert clutter not in article.text
        assert article.published_at.date() == known.published
        assert article.author == known.author
        assert article.language == known.lang
    same = pages[f"{base}/articles/same.html"].article
    assert same.canonical_url == f"{base}/articles/same.html"
    assert pages[f"{base}/articles/same.html?utm_source=newsletter&utm_medium=email"].article_id == same.id
    assert pages[f"{base}/articles/zh-canonical.html?page=1"].article.canonical_url == f"{base}/articles/zh-canonical.html"
    moved = pages[f"{base}/articles/moved-target.html"]
    assert moved.redirected_from == f"{base}/old/moved.html"
    assert moved.redirect_chain == [f"{base}/old/moved.html", f"{base}/articles/moved-target.html"]
    assert moved.http_status == 200

    # Redirects not followed: the outcome, why, the 3xx and the whole chain.
    loop = pages[f"{base}/old/loop-b.html"]
    assert loop.redirect_chain == [f"{base}/old/loop-a.html", f"{base}/old/loop-b.html", f"{base}/old/loop-a.html"]
    assert loop.redirected_from == f"{base}/old/loop-a.html" and loop.http_status == 302
    assert loop.reason.startswith("redirect loop: ")
    itself = pages[f"{base}/old/self.html"]
    assert itself.redirect_chain == [f"{base}/old/self.html"] * 2 and "redirects to itself" in itself.reason
    offsite = pages[f"{base}/old/offsite.html"]
    assert offsite.redirect_chain[-1] == "https://elsewhere.example/landing.html"
    assert "off the site" in offsite.reason and "127.0.0.1" in offsite.reason
    again = pages[f"{base}/old/to-same.html"]
    assert again.redirect_chain == [f"{base}/old/to-same.html", f"{base}/articles/same.html"]
    assert "already requested" in again.reason and again.article_id is None
    chain = pages[f"{base}/old/chain-{CHAIN_LENGTH - 1}.html"]
    assert len(chain.redirect_chain) == CHAIN_LENGTH and chain.redirected_from == f"{base}/old/chain-1.html"
    assert "more than 10 redirects" in chain.reason
    assert "/landing.html" not in hits and hits["/old/self.html"] == 2  # once a crawl, never followed
    assert f"/old/chain-{CHAIN_LENGTH}.html" not in hits
    near = pages[f"{base}/articles/near-dup.html"].article
    original = pages[f"{base}/articles/original.html"].article
    assert near.duplicate_of_id == original.id and not near.is_published
    assert near.status == Article.Status.PENDING
    assert pages[f"{base}/articles/flaky.html"].http_status == 200
    assert "HTTP 404" in pages[f"{base}/articles/missing.html"].reason
    saved = Article.objects.filter(crawl_pages__run=run1, crawl_pages__outcome=O.SAVED)
    assert saved.count() == 8
    assert set(saved.values_list("status", flat=True)) == {Article.Status.APPROVED}  # trusted source
    assert set(ModerationEvent.objects.values_list("actor_name", flat=True)) == {library.SYSTEM_ACTOR}
    assert Article.objects.count() == 9  # eight originals and the near-duplicate
    assert len(CRAWLED_ARTICLES) == 9

    # The second crawl: saved pages are unchanged, every other page meets the same fate, no row changes.
    again = outcomes_of(run2)
    assert again == {url: (O.UNCHANGED if outcome == O.SAVED else outcome) for url, outcome in expected.items()}


def test_second_crawl_changes_no_row(run_crawl):
    with TestSite() as site:
        Source.objects.create(name="Test site", slug="test-site", kind=Source.Kind.SITE,
                              start_urls=[f"{site.base}/"], trusted=False)
        assert run_crawl("test-site").returncode == 0
        before = {a.id: model_to_dict(a) | {"updated_at": a.updated_at} for a in Article.objects.all()}
        assert run_crawl("test-site").returncode == 0
    after = {a.id: model_to_dict(a) | {"updated_at": a.updated_at} for a in Article.objects.all()}
    assert before == after
    assert set(Article.objects.values_list("status", flat=True)) == {Article.Status.PENDING}  # untrusted
    assert not ModerationEvent.objects.exists()


def test_a_second_crawl_of_a_running_source_is_refused(run_crawl):
    source = Source.objects.create(name="Busy", slug="busy", kind=Source.Kind.SITE, start_urls=["http://127.0.0.1:9/"])
    running = CrawlRun.objects.create(source=source, pid=1)
    result = run_crawl("busy")
    assert result.returncode == 3
    assert f"already being crawled by run #{running.id}" in result.stdout
    assert CrawlRun.objects.count() == 1


def _changed_page(site, path: str, added: str) -> None:
    """Serves `path` with one more paragraph than before."""
    from tests.crawlers.site import Route, _articles, article_page

    known = _articles()[PAGE_ARTICLES[path]]
    body = "\n\n".join([*known.paragraphs, added])
    site.routes[path] = Route(200, "text/html; charset=utf-8", article_page(known, body=body).encode())


def _two_page_source(site, *, trusted: bool) -> Source:
    return Source.objects.create(
        name="Two pages", slug="two-pages", kind=Source.Kind.SITE, trusted=trusted,
        start_urls=[f"{site.base}/articles/same.html", f"{site.base}/articles/original.html"],
        allow_patterns=[r"/articles/(same|original)\.html$"],
    )


def test_a_recrawl_never_puts_a_change_live_or_touches_an_owned_article(run_crawl, editor):
    """A changed page of an approved article waits as a revision; a changed page of an article an
    advertiser owns is refused; the published text and the owner stay."""
    from ads.models import Advertiser
    from contentlib.models import ArticleRevision

    with TestSite() as site:
        _two_page_source(site, trusted=False)
        assert run_crawl("two-pages").returncode == 0
        same = Article.objects.get(canonical_url=f"{site.base}/articles/same.html")
        owned = Article.objects.get(canonical_url=f"{site.base}/articles/original.html")
        library.article_approve(article_id=same.id, actor=editor)
        library.article_approve(article_id=owned.id, actor=editor)
        advertiser = Advertiser.objects.create(name="Expo Partners Ltd")
        library.article_set_owner(article_id=owned.id, owner_id=advertiser.id)
        same.refresh_from_db()
        owned.refresh_from_db()
        _changed_page(site, "/articles/same.html", "Call now: our product is the best on the market today.")
        _changed_page(site, "/articles/original.html", "Visit our competitor instead, they are much better.")
        second = run_crawl("two-pages")
        assert second.returncode == 0, second.stderr[-3000:]

    run = CrawlRun.objects.order_by("-id").first()
    pages = {page.url: page for page in run.pages.all()}
    revised = pages[f"{site.base}/articles/same.html"]
    assert revised.outcome == O.REVISED and revised.article_id == same.id
    refused = pages[f"{site.base}/articles/original.html"]
    assert refused.outcome == O.INVALID and "owned by an advertiser" in refused.reason

    for before in (same, owned):
        after = Article.objects.get(id=before.id)
        assert (after.text, after.status, after.content_hash) == (before.text, Article.Status.APPROVED, before.content_hash)
    assert Article.objects.get(id=owned.id).owner_id == advertiser.id
    revision = ArticleRevision.objects.get()
    assert revision.article_id == same.id and revision.status == ArticleRevision.Status.PENDING
    assert "Call now" in revision.text and "Call now" not in revision.base_text
    assert revision.proposed_by == "crawl of two-pages"


def test_a_trusted_source_change_is_approved_by_the_system(run_crawl):
    from contentlib.models import ArticleRevision

    with TestSite() as site:
        _two_page_source(site, trusted=True)
        assert run_crawl("two-pages").returncode == 0
        _changed_page(site, "/articles/same.html", "A correction: the figures above were revised in March.")
        assert run_crawl("two-pages").returncode == 0

    run = CrawlRun.objects.order_by("-id").first()
    page = run.pages.get(url=f"{site.base}/articles/same.html")
    assert page.outcome == O.UPDATED and "approved" in page.reason
    assert "A correction" in page.article.text and page.article.status == Article.Status.APPROVED
    revision = ArticleRevision.objects.get()
    assert revision.status == ArticleRevision.Status.APPROVED
    event = ModerationEvent.objects.get(revision=revision)
    assert event.action == ModerationEvent.Action.APPROVE_REVISION and event.actor_name == library.SYSTEM_ACTOR
    assert run.pages.get(url=f"{site.base}/articles/original.html").outcome == O.UNCHANGED


def _robots_source(site, *paths) -> Source:
    return Source.objects.create(
        name="Robots", slug="robots", kind=Source.Kind.SITE, start_urls=[site.base + p for p in paths],
        allow_patterns=[r"/nothing-is-followed$"],
    )


def test_robots_txt_answering_5xx_disallows_the_whole_site(run_crawl):
    """RFC 9309 2.3.1.4: an unreachable robots.txt means complete disallow, for this crawl."""
    with TestSite() as site:
        site.routes["/robots.txt"] = Route(503, "text/html", b"<html><body>Down for maintenance</body></html>")
        _robots_source(site, "/articles/same.html", "/articles/original.html")
        result = run_crawl("robots")
        hits = dict(site.hits)
    assert result.returncode == 0, result.stderr[-3000:]
    pages = list(CrawlRun.objects.get().pages.all())
    assert {page.outcome for page in pages} == {O.ROBOTS_FORBIDDEN} and len(pages) == 2
    assert all("robots.txt answered HTTP 503" in page.reason for page in pages)
    assert "/articles/same.html" not in hits and "/articles/original.html" not in hits
    assert hits["/robots.txt"] == 4  # asked once, then the three retries of a 5xx
    assert not Article.objects.exists()


def test_robots_rules_bind_every_request_that_waited_for_them(run_crawl):
    """Several pages asked for before robots.txt arrived all obey it, not only the first (Scrapy 2.19
    gives the later waiters no parser: see RobotsTxtOutcomeMiddleware.robot_parser)."""
    with TestSite() as site:
        site.routes["/robots.txt"] = Route(200, "text/plain", b"User-agent: *\nDisallow: /articles/\n")
        _robots_source(site, "/articles/same.html", "/articles/original.html", "/articles/changed.html")
        assert run_crawl("robots").returncode == 0
        hits = dict(site.hits)
    pages = list(CrawlRun.objects.get().pages.all())
    assert len(pages) == 3 and {page.outcome for page in pages} == {O.ROBOTS_FORBIDDEN}
    assert not any(path.startswith("/articles/") for path in hits)


def test_robots_txt_that_cannot_be_fetched_disallows_the_whole_site(run_crawl):
    with TestSite() as site:
        site.routes["/robots.txt"] = Route(DROP_CONNECTION, "text/plain", b"")
        _robots_source(site, "/articles/same.html")
        assert run_crawl("robots").returncode == 0
        hits = dict(site.hits)
    page = CrawlRun.objects.get().pages.get()
    assert page.outcome == O.ROBOTS_FORBIDDEN and "robots.txt could not be fetched" in page.reason
    assert "/articles/same.html" not in hits


def test_robots_txt_answering_4xx_allows_everything(run_crawl):
    """A 404 (or any 4xx but 429) robots.txt means there are no rules, whatever its error page says."""
    with TestSite() as site:
        site.routes["/robots.txt"] = Route(404, "text/plain", b"User-agent: *\nDisallow: /\n")
        _robots_source(site, "/private/secret.html")
        assert run_crawl("robots").returncode == 0
    page = CrawlRun.objects.get().pages.get()
    assert page.outcome == O.SAVED
