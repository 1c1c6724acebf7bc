"""Item pipelines, one concern each: extract, judge quality, save without duplicates, record the outcome.

Every page item reaches the last pipeline, which writes its `CrawlPage` row: a page dropped for a
reason is recorded with that reason, not lost.
"""
from django.conf import settings
from django.utils import timezone

from crawlers import services
from crawlers.extraction import canonical_url, extract_page
from crawlers.items import PageItem
from crawlers.models import CrawlPage

Outcome = CrawlPage.Outcome


class _CrawlPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def spider(self):
        return self.crawler.spider


class ExtractionPipeline(_CrawlPipeline):
    """Turns the page's HTML into main text and metadata (trafilatura) and finds its canonical URL."""

    def process_item(self, item: PageItem):
        if item.outcome is None:
            item.page = extract_page(item.html, item.url)
            item.canonical_url = canonical_url(item.html, item.url)
        return item


class QualityPipeline(_CrawlPipeline):
    """Refuses listing pages, link-heavy pages, short texts and languages the library does not collect."""

    def process_item(self, item: PageItem):
        if item.outcome is not None:
            return item
        page = item.page
        link_list = page is not None and page.is_link_list(
            max_link_share=settings.CRAWL_MAX_LINK_TEXT_SHARE, min_chars_per_link=settings.CRAWL_MIN_CHARS_PER_LINK)
        if item.links_followed and (link_list or page is None or item.page_link_share > settings.CRAWL_MAX_LINK_TEXT_SHARE):
            return item.decide(Outcome.LISTING, f"{item.links_followed} links followed; "
                                                f"{item.page_link_share:.0%} of the page's text is links")
        if page is None:
            return item.decide(Outcome.NO_TEXT, "trafilatura found no main text")
        if link_list:
            return item.decide(Outcome.MOSTLY_LINKS, f"{page.link_count} links in {len(page.text)} characters of "
                                                     f"main text ({page.link_text_share:.0%} link text)")
        length = len(page.text)
        if length < settings.CRAWL_MIN_TEXT_CHARS:
            return item.decide(Outcome.TOO_SHORT, f"{length} characters of main text; the minimum is "
                                                  f"{settings.CRAWL_MIN_TEXT_CHARS}")
        if page.language not in settings.CRAWL_LANGUAGES:
            return item.decide(Outcome.OTHER_LANGUAGE, f"language {page.language!r} is not in CRAWL_LANGUAGES "
                                                       f"({', '.join(settings.CRAWL_LANGUAGES)})")
        if not page.title:
            return item.decide(Outcome.NO_TEXT, "the page has no title")
        return item


class SavePipeline(_CrawlPipeline):
    """Saves the page through the library unless it duplicates an article (crawlers.services)."""

    def process_item(self, item: PageItem):
        if item.outcome is not None:
            return item
        result = services.crawled_page_save(
            run_id=self.spider.run_id, source=self.spider.source, url=item.url, canonical_url=item.canonical_url,
            page=item.page, fetched_at=item.fetched_at or timezone.now(),
        )
        return item.decide(result.outcome, result.reason, result.article_id)


class RecordPipeline(_CrawlPipeline):
    """Writes the page's outcome to the run's record and reports progress."""

    def process_item(self, item: PageItem):
        services.crawl_page_record(
            run_id=self.spider.run_id, url=item.url, http_status=item.http_status, redirected_from=item.redirected_from,
            result=services.PageResult(item.outcome or Outcome.NO_TEXT, item.reason, item.article_id),
        )
        self.crawler.stats.inc_value(f"pages/{item.outcome}")
        if self.spider.on_page is not None:
            self.spider.on_page(item.url, item.outcome)
        item.page = None  # the text is saved; keep memory flat on long crawls
        return item
