"""Stops downloads early: bodies over the size limit and bodies that are not HTML."""
from scrapy import signals
from scrapy.exceptions import StopDownload

HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def is_html(content_type: bytes | None) -> bool:
    """A missing Content-Type is given the benefit of the doubt; the body is checked later."""
    return not content_type or content_type.split(b";")[0].strip().lower() in HTML_TYPES


class PageDownloadGuard:
    """Cuts off page downloads over CRAWL_MAX_PAGE_BYTES (marking them `too_large`) and non-HTML bodies.

    Only requests marked as pages are guarded, so robots.txt, sitemaps and feeds download normally.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    @classmethod
    def from_crawler(cls, crawler):
        guard = cls(crawler.settings.getint("PAGE_MAX_BYTES"))
        crawler.signals.connect(guard.headers_received, signal=signals.headers_received)
        crawler.signals.connect(guard.bytes_received, signal=signals.bytes_received)
        return guard

    def headers_received(self, headers, body_length, request, **kwargs):
        if not request.meta.get("page"):
            return
        request.meta["bytes_received"] = 0  # a retried or redirected request starts counting afresh
        expected = int(body_length) if str(body_length).isdigit() else -1  # -1: no Content-Length
        if expected > self.max_bytes:
            request.meta["too_large"] = expected
            raise StopDownload(fail=False)
        if not is_html(headers.get(b"Content-Type")):
            raise StopDownload(fail=False)  # the callback records it as not HTML from the headers

    def bytes_received(self, data, request, **kwargs):
        if not request.meta.get("page"):
            return
        received = request.meta.get("bytes_received", 0) + len(data)
        request.meta["bytes_received"] = received
        if received > self.max_bytes:
            request.meta["too_large"] = received
            raise StopDownload(fail=False)
