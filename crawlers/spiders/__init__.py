"""One spider per kind of Source: sitemap, feed and site (listing pages)."""
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.site import SiteSpider
from crawlers.spiders.sitemap import SitemapSpider

SPIDER_FOR_KIND = {"sitemap": SitemapSpider, "feed": FeedSpider, "site": SiteSpider}
