"""Item pipelines, one concern each: extract, judge quality, save without duplicates, record the outcome.

Every page item reaches the save pipeline, which writes its `CrawlPage` row with its batch: a page
dropped for a reason is recorded with that reason, not lost.
"""
import logging
import os
import pickle
import socket
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections
from django.utils import timezone
from twisted.internet.defer import Deferred, fail
from twisted.internet.protocol import Factory, connectionDone
from twisted.internet.threads import deferToThreadPool
from twisted.protocols.basic import Int32StringReceiver
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from contentlib import dedup
from crawlers import services
from crawlers.extraction import ExtractedPage, canonical_url, extract_page, no_text_reason
from crawlers.items import PageItem
from crawlers.models import CrawlPage

Outcome = CrawlPage.Outcome
logger = logging.getLogger(__name__)


class _CrawlPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def spider(self):
        return self.crawler.spider


def page_extract(html: str, url: str, num_perm: int) -> tuple[ExtractedPage | None, str, bytes | None]:
    """Returns the page's main content, its canonical URL and the MinHash of its text (as bytes)."""
    page = extract_page(html, url)
    signature = dedup.minhash_to_bytes(dedup.minhash(page.text, page.language, num_perm)) if page else None
    return page, canonical_url(html, url), signature


class ExtractionPipeline(_CrawlPipeline):
    """Turns the page's HTML into main text and metadata (trafilatura), its canonical URL and its MinHash.

    With CRAWL_EXTRACT_PROCESSES > 0 the work runs in that many helper processes, forked when the
    spider opens, so that extraction uses another core while the reactor downloads and saves. While
    pages are still downloading only the first helper takes them (a second would fight the reactor
    for the same cores); once downloads are over, every helper takes pages from the backlog, which
    would otherwise keep one helper busy while the other core idles. Pages leave this step in the
    order they arrived whichever helper extracted them. 0 extracts in the crawl process itself.
    """

    IN_FLIGHT = 4  # pages handed to one helper ahead of its answers, so that it never waits for the reactor

    def __init__(self, crawler):
        super().__init__(crawler)
        self.helpers: list[_Helper] = []
        self.arrived: deque[_Job] = deque()  # every page not yet passed on, in arrival order
        self.unsent: deque[_Job] = deque()

    def open_spider(self):
        # Fork now, while this thread is the only one (the save thread and DNS threads come later).
        self.helpers = [_Helper.fork() for _ in range(settings.CRAWL_EXTRACT_PROCESSES)]

    async def close_spider(self):
        for helper in self.helpers:
            await helper.close()

    def process_item(self, item: PageItem):
        if item.outcome is not None:
            return item
        if not self.helpers:
            return self._extracted(item, page_extract(item.html, item.url, settings.CRAWL_MINHASH_PERMUTATIONS))
        return self._extract_in_helper(item)

    async def _extract_in_helper(self, item: PageItem) -> PageItem:
        job = _Job(item.html, item.url)
        self.arrived.append(job)
        self.unsent.append(job)
        self._dispatch()
        try:
            result = await job.done
        except Exception:  # noqa: BLE001 - a helper that died or failed on the page: extract here instead
            logger.exception("Extracting %s in a helper process failed; extracting it in the crawl process", item.url)
            result = page_extract(item.html, item.url, settings.CRAWL_MINHASH_PERMUTATIONS)
        return self._extracted(item, result)

    def _dispatch(self) -> None:
        """Hands waiting pages to helpers with room: the first live one while downloading, any one after."""
        live = [helper for helper in self.helpers if helper.connected]
        if not live:
            while self.unsent:
                self._answered(Failure(_HelperGone("every extraction helper has exited")), self.unsent.popleft())
            return
        takers = live[:1] if self._downloading() else live
        while self.unsent:
            helper = min(takers, key=lambda h: len(h.waiting))
            if len(helper.waiting) >= self.IN_FLIGHT:
                return
            job = self.unsent.popleft()
            answer = helper.extract(job.html, job.url, settings.CRAWL_MINHASH_PERMUTATIONS)
            answer.addBoth(self._answered, job)

    def _downloading(self) -> bool:
        engine = self.crawler.engine
        return bool(engine.downloader.active) or (engine.scheduler is not None and engine.scheduler.has_pending_requests())

    def _answered(self, result, job: "_Job") -> None:
        job.result = result
        while self.arrived and self.arrived[0].result is not None:  # pass pages on in arrival order
            first = self.arrived.popleft()
            if isinstance(first.result, Failure):
                first.done.errback(first.result)
            else:
                first.done.callback(first.result)
        self._dispatch()

    @staticmethod
    def _extracted(item: PageItem, result) -> PageItem:
        item.page, item.canonical_url, item.minhash = result
        return item


@dataclass(eq=False)
class _Job:
    """A page on its way through a helper."""
    html: str
    url: str
    done: Deferred = field(default_factory=Deferred)
    result: object = None  # the helper's answer (a Failure when it failed) once it came back


class _HelperGone(Exception):
    """The helper process closed its socket (it died) before answering."""


class _Helper(Int32StringReceiver):
    """The reactor's end of a socket to a forked helper process that runs `page_extract`.

    Pages go out and results come back as length-prefixed pickles through the reactor's own socket
    handling: no threads or queues in the crawl process (a process pool's feeder and manager
    threads cost the crawl process ~0.5 ms of CPU per page).
    """

    MAX_LENGTH = 2**31 - 1  # pages are already limited by CRAWL_MAX_PAGE_BYTES

    def __init__(self, pid: int):
        self.pid = pid
        self.waiting: deque[Deferred] = deque()
        self.gone = Deferred()  # fires once the socket is closed

    @classmethod
    def fork(cls) -> "_Helper":
        from twisted.internet import reactor  # noqa: PLC0415 - the one Scrapy installed, once it has

        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the helper: serves until the crawl process closes the socket
            code = 1
            try:
                ours.close()
                _helper_serve(theirs)
                code = 0
            finally:
                os._exit(code)  # the crawl's atexit handlers and reactor are not this process's
        theirs.close()
        helper = cls(pid)
        factory = Factory()
        factory.buildProtocol = lambda _address: helper
        reactor.adoptStreamConnection(ours.fileno(), socket.AF_UNIX, factory)  # the reactor keeps a duplicate
        ours.close()
        return helper

    def extract(self, html: str, url: str, num_perm: int) -> Deferred:
        """Returns a Deferred firing with `page_extract(html, url, num_perm)` as the helper computed it."""
        if not self.connected:
            return fail(_HelperGone(f"extraction helper {self.pid} has exited"))
        done = Deferred()
        self.waiting.append(done)
        self.sendString(pickle.dumps((html, url, num_perm), protocol=pickle.HIGHEST_PROTOCOL))
        return done

    def stringReceived(self, string: bytes):
        ok, result = pickle.loads(string)
        done = self.waiting.popleft()
        if ok:
            done.callback(result)
        else:
            done.errback(result)

    def connectionLost(self, reason=connectionDone):
        super().connectionLost(reason)
        self.connected = False  # Twisted leaves it set: without this, pages would go on to a dead helper
        while self.waiting:
            self.waiting.popleft().errback(_HelperGone(f"extraction helper {self.pid} exited: {reason.value}"))
        self.gone.callback(None)

    async def close(self) -> None:
        if self.connected:
            self.transport.loseConnection()
        await self.gone
        os.waitpid(self.pid, 0)  # it leaves as soon as it reads the end of its socket


def _helper_serve(connection: socket.socket) -> None:
    """A helper's loop: reads (html, url, num_perm), writes (True, page_extract's result) or (False, error)."""
    with connection, connection.makefile("rb") as incoming:
        while len(header := incoming.read(4)) == 4:
            html, url, num_perm = pickle.loads(incoming.read(int.from_bytes(header, "big")))
            try:
                answer = pickle.dumps((True, page_extract(html, url, num_perm)), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as error:  # noqa: BLE001 - handed to the crawl process, which logs it with its page
                answer = pickle.dumps((False, RuntimeError(f"extracting {url} failed: {type(error).__name__}: {error}")))
            connection.sendall(len(answer).to_bytes(4, "big") + answer)


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
            return item.decide(Outcome.NO_TEXT, no_text_reason(item.html))
        if link_list:
            return item.decide(Outcome.MOSTLY_LINKS, f"{page.link_count} links in {page.linked_text_chars or len(page.text)} "
                                                     f"characters of main text ({page.link_text_share:.0%} link text)")
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
    """Saves pages in batches without duplicates, writing every page's outcome with them (crawlers.services).

    A page waits until its batch holds CRAWL_SAVE_BATCH_SIZE pages or its first page has waited
    CRAWL_SAVE_BATCH_SECONDS, whichever comes first: one transaction, one lock and one enrichment
    task per batch instead of per page. Pages decided earlier (too short, HTTP errors...) ride along
    so their outcome is recorded in the same transaction. Batches are written by one thread of
    their own, in order (each sees the ones before it), while the reactor keeps downloading and
    extracting; the spider closes only once every page has left the pipelines.
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self.batch: list[tuple[PageItem, Deferred]] = []
        self.timer = None
        self.writer = ThreadPool(minthreads=1, maxthreads=1, name="crawl-save")  # one: batches stay in order

    def open_spider(self):
        self.writer.start()

    async def process_item(self, item: PageItem):
        done = Deferred()
        self.batch.append((item, done))
        if len(self.batch) >= settings.CRAWL_SAVE_BATCH_SIZE:
            self.flush()
        elif self.timer is None:
            self.timer = self._reactor().callLater(settings.CRAWL_SAVE_BATCH_SECONDS, self.flush)
        return await done

    async def close_spider(self):
        self.flush()
        await deferToThreadPool(self._reactor(), self.writer, connections.close_all)  # the writer's own connection
        self.writer.stop()

    @staticmethod
    def _reactor():
        from twisted.internet import reactor  # noqa: PLC0415 - the one Scrapy installed, once it has

        return reactor

    def flush(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        batch, self.batch = self.batch, []
        if not batch:
            return
        pages = [services.CrawledPage(
            url=item.url, fetched_at=item.fetched_at or timezone.now(), canonical_url=item.canonical_url, page=item.page,
            signature=item.minhash, in_sitemap=item.in_sitemap,
            decided=services.PageResult(item.outcome, item.reason, item.article_id) if item.outcome else None,
            http_status=item.http_status, redirected_from=item.redirected_from, redirect_chain=item.redirect_chain,
        ) for item, _ in batch]
        saved = deferToThreadPool(self._reactor(), self.writer, services.crawl_pages_save,
                                  run_id=self.spider.run_id, source=self.spider.source, pages=pages)
        saved.addCallbacks(self._saved, self._failed, callbackArgs=(batch,), errbackArgs=(batch,))

    @staticmethod
    def _saved(results, batch) -> None:
        for (item, done), result in zip(batch, results, strict=True):
            item.decide(result.outcome, result.reason, result.article_id)
            done.callback(item)

    @staticmethod
    def _failed(failure, batch) -> None:  # handed to each page's item, which Scrapy logs
        for _, done in batch:
            done.errback(failure)


class ProgressPipeline(_CrawlPipeline):
    """Counts the page's outcome (written with its batch by SavePipeline) and reports progress."""

    def process_item(self, item: PageItem):
        self.crawler.stats.inc_value(f"pages/{item.outcome}")
        if self.spider.on_page is not None:
            self.spider.on_page(item.url, item.outcome)
        item.page = None  # the text is saved; keep memory flat on long crawls
        return item
