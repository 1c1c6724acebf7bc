"""Follows listing and pagination pages to article pages, within the source's allow/deny patterns, and
reads the feeds and sitemaps the site declares (robots.txt `Sitemap:` lines, `<link rel="alternate">`
feeds in a page's <head>)."""
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from crawlers.spiders.base import SourceSpider


def _visible_chars(texts: list[str]) -> int:
    return sum(len(t) - t.count(" ") - t.count("\n") - t.count("\t") for t in texts)


def link_text_share(response) -> float:
    """Share of the visible body text that sits inside links: high on listing and index pages."""
    body = response.xpath("//body")
    if not body:
        return 0.0
    total = _visible_chars(body.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall())
    links = _visible_chars(body.xpath(".//a//text()").getall())
    return links / total if total else 0.0


class SiteSpider(SourceSpider):
    name = "site"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.links = LinkExtractor(
            allow=self.source.allow_patterns, deny=self.source.deny_patterns,
            deny_extensions=[],  # a PDF link is requested and recorded as "not HTML", not silently skipped
        )

    async def start(self):
        for robots in dict.fromkeys(urlunsplit((*urlsplit(url)[:2], "/robots.txt", "", "")) for url in self.start_urls):
            # Ahead of the pages, so that a page the sitemap lists is known as listed when it arrives.
            yield scrapy.Request(robots, callback=self.parse_sitemap, errback=self.discovery_failed, priority=10)
        for url in self.start_urls:
            yield self.page_request(url)

    def discovery_failed(self, failure):
        """A site without robots.txt (or one it forbids) declares no sitemap: nothing to record."""
        self.logger.info("No sitemap from %s: %s", failure.request.url, failure.getErrorMessage())

    def declared_feeds(self, response) -> list[str]:
        """The on-site RSS and Atom feeds the page's <head> declares."""
        hrefs = response.xpath(
            '//head/link[contains(translate(@rel, "ALTERNATE", "alternate"), "alternate")]'
            '[contains(@type, "rss+xml") or contains(@type, "atom+xml")]/@href').getall()
        urls = (response.urljoin(href.strip()) for href in hrefs if href.strip())
        return [url for url in dict.fromkeys(urls) if self.url_on_site(url)]

    def parse_page(self, response):
        item = self.page_item(response)
        if item.outcome is None:
            # Links come from the decoded text, so GBK or mislabelled pages yield the right URLs.
            decoded = HtmlResponse(response.url, body=item.html.encode("utf-8"), encoding="utf-8")
            links = [link for link in self.links.extract_links(decoded) if self.url_on_site(link.url)]
            item.links_followed = len(links)
            item.page_link_share = link_text_share(decoded)
            for link in links:
                if (request := self.link_request(link.url)) is not None:
                    yield request
            for feed in self.declared_feeds(decoded):  # Scrapy's duplicate filter reads each feed once
                yield self.listing_request(feed, self.parse_feed, priority=10)
        yield item
