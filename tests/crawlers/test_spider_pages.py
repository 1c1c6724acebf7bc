"""Spider parsing on saved pages (tests/crawlers/pages/), fed in as HtmlResponse, through the
extraction and quality pipelines."""
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from contentlib import corpus
from crawlers.models import CrawlPage
from crawlers.pipelines import ExtractionPipeline, QualityPipeline
from crawlers.spiders.site import SiteSpider

PAGES = Path(__file__).parent / "pages"
BASE = "http://news.example.com"


def parse(name: str, url: str, content_type: str = "text/html", start: str = BASE + "/"):
    source = SimpleNamespace(start_urls=[start], allowed_domains=[], allow_patterns=[], deny_patterns=[r"/static/"])
    crawler = get_crawler(SiteSpider, {"PAGE_MAX_BYTES": 1_000_000})
    spider = SiteSpider.from_crawler(crawler, source=source, run_id=0)
    crawler.spider = spider
    body = (PAGES / name).read_bytes()
    response = HtmlResponse(url, body=body, headers={"Content-Type": content_type}, request=Request(url, meta={"page": True}))
    output = list(spider.parse_page(response))
    item = output[-1]
    for pipeline in (ExtractionPipeline(crawler), QualityPipeline(crawler)):
        item = pipeline.process_item(item)
    return item, [r.url for r in output[:-1]]


def test_english_article_keeps_the_main_text_and_drops_the_clutter():
    item, followed = parse("article_en.html", "https://freight.example.com/p/1912?utm_source=feed#top",
                           start="https://freight.example.com/")
    page = item.page
    assert item.outcome is None  # passes the quality filter, on to saving
    assert page.title == "Parcel lockers cut failed deliveries by two thirds"
    assert page.author == "Oliver Brandt"
    assert page.published_at.date() == dt.date(2025, 10, 14)  # not the comment's 2026-01-03
    assert page.language == "en"
    assert "Cost savings came mainly from delivery density" in page.text
    for clutter in ("Related posts", "Contact us", "400-800-1234", "Great article", "Share on X", "All rights reserved"):
        assert clutter not in page.text
    assert item.canonical_url == "https://freight.example.com/2025/10/parcel-lockers"
    assert "https://freight.example.com/finance/" in followed
    assert not any("share" in url for url in followed)  # other hosts are not followed


def test_gbk_page_without_charset_decodes_to_the_known_text():
    known = next(a for a in corpus.articles() if a.id == "zh-log-02")
    item, _ = parse("article_zh_gbk_no_charset.html", "http://127.0.0.1:8001/articles/zh-log-02.html?from=timeline",
                    content_type="text/html")
    assert item.page.title == known.title
    assert known.paragraphs[0] in item.page.text and known.paragraphs[-1] in item.page.text
    assert item.page.language == "zh"
    assert item.page.published_at.date() == known.published
    assert item.canonical_url == "http://127.0.0.1:8001/articles/zh-log-02.html"


def test_canonical_link_to_another_host_is_ignored():
    item, _ = parse("article_zh_gbk_no_charset.html", f"{BASE}/a/zh-log-02.html?utm_medium=x&id=7#c")
    assert item.canonical_url == f"{BASE}/a/zh-log-02.html?id=7"


def test_listing_page_is_recorded_as_a_listing_and_its_links_followed():
    item, followed = parse("listing_finance.html", f"{BASE}/category/finance/")
    assert item.outcome == CrawlPage.Outcome.LISTING
    assert f"{BASE}/articles/en-fin-02.html" in followed
    assert f"{BASE}/category/finance/page-2.html" in followed
    assert not any("/static/" in url for url in followed)  # deny pattern


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png"])
def test_non_html_is_refused_with_its_content_type(content_type):
    item, followed = parse("article_en.html", f"{BASE}/file", content_type=content_type)
    assert item.outcome == CrawlPage.Outcome.NOT_HTML and content_type in item.reason
    assert followed == []
