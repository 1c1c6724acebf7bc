"""What every source spider shares: page requests, decoding, and turning every fate into an item."""
import gzip
import logging
import re
from urllib.parse import urlsplit

import scrapy
from django.utils import timezone
from scrapy import signals
from scrapy.http import TextResponse
from scrapy.selector import Selector
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from w3lib.url import canonicalize_url

from crawlers.encoding import decode_html
from crawlers.extraction import normalize_url
from crawlers.extensions import is_html
from crawlers.items import PageItem
from crawlers.middlewares import RedirectRefused, RobotsForbidden
from crawlers.models import CrawlPage

Outcome = CrawlPage.Outcome
logger = logging.getLogger(__name__)
URL_MAX_CHARS = CrawlPage._meta.get_field("url").max_length  # 2,000, as Article.url; below URLLENGTH_LIMIT


class SourceSpider(scrapy.Spider):
    """A crawl of one `contentlib.models.Source`; subclasses find the page URLs."""

    name = "source"

    def __init__(self, *, source, run_id: int, on_page=None, **kwargs):
        super().__init__(**kwargs)
        self.source = source
        self.run_id = run_id
        self.on_page = on_page  # called with (url, outcome) after each page is recorded
        self.start_urls = list(source.start_urls)
        self.allowed_domains = list(source.allowed_domains) or sorted(
            {urlsplit(url).hostname for url in self.start_urls if urlsplit(url).hostname}
        )
        self._allow = [re.compile(p) for p in source.allow_patterns]
        self._deny = [re.compile(p) for p in source.deny_patterns]
        self.requested: set[str] = set()  # canonical URLs of every request this crawl scheduled
        self.sitemap_listed: set[str] = set()  # canonical URLs a sitemap of the site lists
        self.refused_links: set[str] = set()  # links too long to crawl, each recorded once

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._request_scheduled, signal=signals.request_scheduled)
        return spider

    def _request_scheduled(self, request, spider=None):
        # Sent for every request before the duplicate filter sees it, so a URL requested twice is in here
        # from its first time (its second copy is the one the filter drops).
        self.requested.add(canonicalize_url(request.url))

    def redirect_refusal(self, chain: list[str], target: str, *, limit: int) -> tuple[str, str] | None:
        """Returns (outcome, reason) when a page's redirect to `target` after `chain` is not followed.

        Not followed: a redirect back to a URL of its own chain (a loop, or a page redirecting to
        itself); one off the source's allowed domains; one to a URL this crawl already requested
        (whose own fate is recorded under it); the redirect after the `limit`th.
        """
        canonical = canonicalize_url(target)
        hops = " → ".join([*chain, target])
        if canonical in {canonicalize_url(url) for url in chain}:
            if len(chain) == 1:
                return Outcome.REDIRECT_LOOP, f"redirects to itself ({target})"
            return Outcome.REDIRECT_LOOP, f"redirect loop: {hops}"
        if len(chain) > limit:
            return Outcome.REDIRECT_LOOP, f"more than {limit} redirects (CRAWL_MAX_REDIRECTS): {hops}"
        if not self.url_on_site(target):
            return Outcome.REDIRECT_OFFSITE, (f"redirects off the site to {target}, outside "
                                              f"{', '.join(self.allowed_domains)}")
        if canonical in self.requested:
            return Outcome.REDIRECT_DUPLICATE, f"redirects to {target}, which this crawl already requested"
        return None

    def url_allowed(self, url: str) -> bool:
        if any(p.search(url) for p in self._deny):
            return False
        return not self._allow or any(p.search(url) for p in self._allow)

    def url_on_site(self, url: str) -> bool:
        """True when the URL's host is one of the allowed domains or a subdomain of one (any port)."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def page_request(self, url: str, **kwargs) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_page, errback=self.page_failed, meta={"page": True}, **kwargs)

    def link_request(self, url: str) -> scrapy.Request | PageItem | None:
        """The request for a page a link, feed or sitemap names; for a URL too long to keep, its fate
        (once), where Scrapy's URLLENGTH_LIMIT would drop it without a record."""
        if len(url) <= URL_MAX_CHARS:
            return self.page_request(url)
        if url in self.refused_links:
            return None
        self.refused_links.add(url)
        return PageItem(url=url, fetched_at=timezone.now()).decide(Outcome.INVALID, (
            f"a link of {len(url):,} characters: the library keeps URLs of at most {URL_MAX_CHARS:,}, so it was "
            f"not fetched"))

    def page_item(self, response) -> PageItem | None:
        """Returns the page with its HTML decoded, or an item already decided (too large, not HTML)."""
        redirects = response.meta.get("redirect_urls") or []
        item = PageItem(url=response.url, http_status=response.status, redirected_from=redirects[0] if redirects else "",
                        redirect_chain=[*redirects, response.url] if redirects else [], fetched_at=timezone.now(),
                        in_sitemap=bool({canonicalize_url(url) for url in [*redirects, response.url]}
                                        & self.sitemap_listed))
        limit = self.settings.getint("PAGE_MAX_BYTES")
        if response.meta.get("too_large"):
            return item.decide(Outcome.TOO_LARGE, f"over the {limit:,}-byte limit (CRAWL_MAX_PAGE_BYTES)")
        content_type = response.headers.get(b"Content-Type") or b""
        if not is_html(content_type) or not isinstance(response, TextResponse):
            shown = content_type.decode("latin-1") or "no Content-Type"
            return item.decide(Outcome.NOT_HTML, f"{shown}; only HTML pages are collected")
        item.html, _ = decode_html(response.body, content_type.decode("latin-1"))
        return item

    def parse_page(self, response):
        yield self.page_item(response)

    def parse_sitemap(self, response):
        """Requests the pages a sitemap (or sitemap index, or robots.txt's `Sitemap:` lines) lists."""
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.text, base_url=response.url):
                yield self.listing_request(url, self.parse_sitemap)
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        sitemap = Sitemap(body)
        for entry in sitemap:
            url = entry["loc"]
            if sitemap.type == "sitemapindex":
                yield self.listing_request(url, self.parse_sitemap)
            elif self.url_allowed(url):
                url = normalize_url(url)  # tracking parameters folded: one URL per page
                self.sitemap_listed.add(canonicalize_url(url))
                if (request := self.link_request(url)) is not None:
                    yield request

    def parse_feed(self, response):
        """Requests the articles an RSS 2.0 or Atom feed links to, their tracking parameters folded."""
        feed = Selector(text=response.text, type="xml")
        feed.remove_namespaces()
        rss = feed.xpath("//item/link/text()").getall()
        atom = feed.xpath("//entry/link[not(@rel) or @rel='alternate']/@href").getall()
        for url in dict.fromkeys(normalize_url(response.urljoin(u.strip())) for u in rss + atom if u.strip()):
            if self.url_allowed(url) and (request := self.link_request(url)) is not None:
                yield request

    def listing_request(self, url: str, callback, **kwargs) -> scrapy.Request:
        """A request for a feed or sitemap: its failure is recorded like a page's."""
        return scrapy.Request(url, callback=callback, errback=self.page_failed, **kwargs)

    def page_failed(self, failure):
        """Records why a page could not be fetched: robots.txt, an HTTP error after retries, the network."""
        request = failure.request
        redirects = request.meta.get("redirect_urls") or []
        item = PageItem(url=request.url, fetched_at=timezone.now(), redirected_from=redirects[0] if redirects else "",
                        redirect_chain=[*redirects, request.url] if redirects else [])
        if failure.check(RedirectRefused):
            refused = failure.value
            item.redirected_from = refused.chain[0] if refused.chain[0] != request.url else ""
            item.redirect_chain = refused.chain
            item.http_status = refused.http_status
            yield item.decide(refused.outcome, refused.reason)
        elif failure.check(RobotsForbidden):
            yield item.decide(Outcome.ROBOTS_FORBIDDEN, str(failure.value))
        elif failure.check(HttpError):
            response = failure.value.response
            item.http_status = response.status
            retries = request.meta.get("retry_times", 0)
            tried = f" after {retries} retries" if retries else ""
            yield item.decide(Outcome.HTTP_ERROR, f"HTTP {response.status}{tried}")
        elif failure.check(DNSLookupError, TimeoutError, TCPTimedOutError):
            yield item.decide(Outcome.NETWORK_ERROR, f"{failure.type.__name__}: {failure.getErrorMessage()}")
        else:
            yield item.decide(Outcome.NETWORK_ERROR, f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500])
