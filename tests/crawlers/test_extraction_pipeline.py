"""The extraction step's hand-off to helper processes: who takes pages when, and in what order they leave.

The helpers here are stand-ins answering when the test says so; real forked helpers run in every
end-to-end crawl (test_crawl_end_to_end.py).
"""
from collections import deque
from types import SimpleNamespace

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionLost
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from contentlib import corpus
from crawlers.items import PageItem
from crawlers.pipelines import ExtractionPipeline, _Helper
from tests.crawlers.site import article_page


class StandInHelper:
    def __init__(self):
        self.connected = True
        self.waiting: deque[Deferred] = deque()
        self.urls: deque[str] = deque()

    def extract(self, html, url, num_perm):
        done = Deferred()
        self.waiting.append(done)
        self.urls.append(url)
        return done

    def answer(self):
        url = self.urls.popleft()
        self.waiting.popleft().callback((f"extracted {url}", url, None))


def _pipeline(*helpers, downloading: bool):
    engine = SimpleNamespace(downloader=SimpleNamespace(active={"a request"} if downloading else set()), scheduler=None)
    pipeline = ExtractionPipeline(SimpleNamespace(engine=engine))
    pipeline.helpers = list(helpers)
    return pipeline


def _send(pipeline, urls):
    left = []
    for url in urls:
        Deferred.fromCoroutine(pipeline.process_item(PageItem(url=url, html=article_page(corpus.articles()[0])))
                               ).addCallback(lambda item: left.append(item.url))
    return left


def test_while_pages_download_only_the_first_helper_takes_them():
    first, second = StandInHelper(), StandInHelper()
    pipeline = _pipeline(first, second, downloading=True)
    _send(pipeline, [f"http://site.test/{n}" for n in range(6)])
    assert len(first.urls) == ExtractionPipeline.IN_FLIGHT and not second.urls


def test_once_downloads_are_over_every_helper_takes_the_backlog_and_pages_leave_in_arrival_order():
    first, second = StandInHelper(), StandInHelper()
    pipeline = _pipeline(first, second, downloading=True)
    urls = [f"http://site.test/{n}" for n in range(6)]
    left = _send(pipeline, urls)
    pipeline.crawler.engine.downloader.active.clear()  # the last download finished
    first.answer()  # page 0 leaves; pages 4 and 5 go to the idle second helper
    assert list(second.urls) == urls[4:] and list(first.urls) == urls[1:4]
    second.answer()  # page 4 is done before pages 1-3, but waits for them
    assert left == [urls[0]]
    while first.urls:
        first.answer()
    assert left == urls[:5]
    second.answer()
    assert left == urls


def test_pages_are_extracted_in_the_crawl_process_when_the_helpers_are_gone():
    helper = StandInHelper()
    helper.connected = False
    pipeline = _pipeline(helper, downloading=True)
    item = PageItem(url="http://site.test/a", html=article_page(corpus.articles()[0]))
    extracted = []
    Deferred.fromCoroutine(pipeline.process_item(item)).addCallback(extracted.append)
    assert extracted[0].page.title == corpus.articles()[0].title and not helper.urls


def test_a_helper_that_dies_fails_its_pages_and_takes_no_more():
    helper = _Helper(pid=0)
    helper.makeConnection(StringTransport())
    failed = []
    helper.extract("<html></html>", "http://site.test/a", 128).addErrback(failed.append)
    helper.connectionLost(Failure(ConnectionLost()))
    assert len(failed) == 1 and not helper.connected
    helper.extract("<html></html>", "http://site.test/b", 128).addErrback(failed.append)
    assert len(failed) == 2 and not helper.waiting
