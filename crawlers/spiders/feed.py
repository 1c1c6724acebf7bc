"""Reads an RSS 2.0 or Atom feed and fetches the articles it links to."""
import scrapy
from scrapy.selector import Selector

from crawlers.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name = "feed"

    async def start(self):
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.page_failed)

    def parse_feed(self, response):
        feed = Selector(text=response.text, type="xml")
        feed.remove_namespaces()
        rss = feed.xpath("//item/link/text()").getall()
        atom = feed.xpath("//entry/link[not(@rel) or @rel='alternate']/@href").getall()
        for url in dict.fromkeys(u.strip() for u in rss + atom if u.strip()):
            url = response.urljoin(url)
            if self.url_allowed(url):
                yield self.page_request(url)
