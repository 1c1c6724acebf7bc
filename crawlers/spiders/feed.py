"""Reads an RSS 2.0 or Atom feed and fetches the articles it links to (SourceSpider.parse_feed)."""
from crawlers.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name = "feed"

    async def start(self):
        for url in self.start_urls:
            yield self.listing_request(url, self.parse_feed)
