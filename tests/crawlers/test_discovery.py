"""Discovery: a site crawl also reads the feeds and sitemaps the site declares, tracking parameters folded."""
from contentlib.models import Article, Source
from crawlers.models import CrawlPage, CrawlRun
from tests.crawlers.site import Route, TestSite

O = CrawlPage.Outcome


def _blog(site) -> Source:
    # Only the blog: the posts' own navigation leads to the rest of the test site.
    return Source.objects.create(name="Blog", slug="blog", kind=Source.Kind.SITE, start_urls=[f"{site.base}/blog/"],
                                 allow_patterns=["/blog/"], trusted=True)


def test_a_feed_declared_only_in_a_pages_head_is_crawled_and_its_utm_links_folded(run_crawl):
    with TestSite() as site:
        _blog(site)
        done = run_crawl("blog")
        assert done.returncode == 0, done.stderr[-3000:]
    run = CrawlRun.objects.get()
    outcomes = {page.url: page.outcome for page in run.pages.all()}
    # Each post once, under its URL without the feed's utm_ parameters or fragment.
    assert outcomes[f"{site.base}/blog/post-1.html"] == O.SAVED
    assert outcomes[f"{site.base}/blog/post-2.html"] == O.SAVED
    assert not [url for url in outcomes if "utm_" in url or "#" in url]
    assert set(Article.objects.values_list("canonical_url", flat=True)) == {
        f"{site.base}/blog/post-1.html", f"{site.base}/blog/post-2.html"}
    assert site.hits["/feeds/blog.xml"] == 1
    # The sitemap the site does not declare is not guessed at.
    assert "/sitemap.xml" not in site.hits


def test_the_sitemap_robots_txt_declares_is_crawled_and_its_pages_marked_listed(run_crawl):
    with TestSite() as site:
        site.routes["/robots.txt"] = Route(200, "text/plain", (
            f"User-agent: *\nDisallow: /private/\nSitemap: {site.base}/sitemap.xml\n").encode())
        _blog(site)
        done = run_crawl("blog")
        assert done.returncode == 0, done.stderr[-3000:]
    page = CrawlPage.objects.get(url=f"{site.base}/blog/from-sitemap.html")
    assert page.outcome == O.SAVED and page.in_sitemap
    assert not CrawlPage.objects.filter(url__contains="utm_").exists()
    assert not CrawlPage.objects.get(url=f"{site.base}/blog/post-1.html").in_sitemap
