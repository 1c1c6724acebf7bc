"""Reads sitemap.xml files (and sitemap indexes, and robots.txt Sitemap: lines) and fetches the pages they list
(SourceSpider.parse_sitemap)."""
from crawlers.spiders.base import SourceSpider


class SitemapSpider(SourceSpider):
    name = "sitemap"

    async def start(self):
        for url in self.start_urls:
            yield self.listing_request(url, self.parse_sitemap)
