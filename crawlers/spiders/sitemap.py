"""Reads sitemap.xml files (and sitemap indexes, and robots.txt Sitemap: lines) and fetches the pages they list."""
import gzip

import scrapy
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawlers.spiders.base import SourceSpider


class SitemapSpider(SourceSpider):
    name = "sitemap"

    async def start(self):
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.page_failed)

    def parse_sitemap(self, response):
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.text, base_url=response.url):
                yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.page_failed)
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        sitemap = Sitemap(body)
        for entry in sitemap:
            url = entry["loc"]
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.page_failed)
            elif self.url_allowed(url):
                yield self.page_request(url)
