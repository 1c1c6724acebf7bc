"""Downloader middlewares: robots.txt refusals with their own exception, retries with backoff."""
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from twisted.internet import reactor, task


class RobotsForbidden(IgnoreRequest):
    """The site's robots.txt forbids this URL to our user agent."""


class RobotsTxtOutcomeMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt check, raising `RobotsForbidden` so the refusal is recorded as such."""

    def process_request_2(self, rp, request):
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as refused:
            raise RobotsForbidden(str(refused)) from None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (timeouts, 5xx, 429), each one waiting twice as long as the one before."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("RETRY_BACKOFF_SECONDS")

    def _retry(self, request, reason):
        retry = super()._retry(request, reason)
        if retry is not None:
            retry.meta["backoff_seconds"] = self.backoff * 2 ** (retry.meta["retry_times"] - 1)
        return retry


class BackoffDelayMiddleware:
    """Holds a retried request for its backoff before it reaches the downloader."""

    async def process_request(self, request):
        delay = request.meta.pop("backoff_seconds", 0)
        if delay > 0:
            await task.deferLater(reactor, delay, lambda: None)
