"""Downloader middlewares: robots.txt refusals with their own exception (and RFC 9309's rules for a
robots.txt that cannot be read), redirects checked before they are followed, retries with backoff."""
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import reactor, task
from twisted.internet.defer import Deferred


class RobotsForbidden(IgnoreRequest):
    """The site's robots.txt forbids this URL to our user agent (or could not be read: see below)."""


class _SiteDisallowed:
    """Stands for a robots.txt that could not be read: every path of the site is disallowed."""

    def __init__(self, reason: str):
        self.reason = reason

    def allowed(self, url, user_agent) -> bool:
        return False


class RobotsTxtOutcomeMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt check, raising `RobotsForbidden` so the refusal is recorded as such, and
    following RFC 9309 section 2.3.1 where Scrapy does not.

    A robots.txt answering 5xx (after the retries), or one that cannot be fetched at all, is
    "unreachable": the whole site is disallowed for this crawl (Scrapy would read the error page as
    rules, which allows everything). 429 Too Many Requests counts as unreachable too, as Google
    treats it: the site asked us to slow down. Any other 4xx means there are no rules: everything is
    allowed, whatever the error page says.
    """

    async def robot_parser(self, request):
        """The site's parsed robots.txt, for every request that waited for it.

        Scrapy 2.19 hands the one pending Deferred to each waiting request through
        `maybe_deferred_to_future`, whose callback returns None, so only the first waiter gets the
        parser and the others get None, which allows everything. Once the Deferred has fired the
        parser is in `_parsers`, so it is read from there.
        """
        parser = await super().robot_parser(request)
        current = self._parsers.get(urlparse_cached(request).netloc, parser)
        return parser if isinstance(current, Deferred) else current

    async def _parse_robots(self, response, netloc, request):
        status = response.status
        if status >= 500 or status == 429:
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{status}")
            self._disallow_site(netloc, f"robots.txt answered HTTP {status}, so the whole site is disallowed "
                                        "for this crawl (RFC 9309: an unreachable robots.txt disallows everything)")
            return
        if 400 <= status < 500:
            response = response.replace(body=b"")  # no rules: the error page is not a robots.txt
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc, netloc):
        if isinstance(exc, IgnoreRequest):  # refused on purpose (e.g. its redirect): as Scrapy does
            return super()._robots_error(exc, netloc)
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._disallow_site(netloc, f"robots.txt could not be fetched ({type(exc).__name__}: {exc}), so the whole "
                                    "site is disallowed for this crawl (RFC 9309)"[:500])

    def _disallow_site(self, netloc: str, reason: str) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = _SiteDisallowed(reason)
        waiting.callback(self._parsers[netloc])

    def process_request_2(self, rp, request):
        if isinstance(rp, _SiteDisallowed):
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsForbidden(rp.reason)
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            raise RobotsForbidden("robots.txt disallows this path for our user agent") from None


class RedirectRefused(IgnoreRequest):
    """A page's redirect that the crawl does not follow, with the outcome to record and the chain."""

    def __init__(self, outcome: str, reason: str, chain: list[str], http_status: int | None = None):
        super().__init__(reason)
        self.outcome, self.reason, self.chain, self.http_status = outcome, reason, chain, http_status


class _CheckedRedirects:
    """Asks the spider whether a page's redirect may be followed (`SourceSpider.redirect_refusal`)
    before Scrapy follows it, so that a loop, a redirect off the site or to a URL the crawl already
    has, and a chain over the limit are refused with their reason instead of dropped unseen (by
    the duplicate filter, the offsite filter or Scrapy's own limit)."""

    def _engine_started(self) -> None:
        pass  # Scrapy warns here that no Referer middleware runs: on purpose, our crawls send no Referer

    def _redirect(self, redirected, request, reason):
        if request.meta.get("page"):
            chain = [*request.meta.get("redirect_urls", []), request.url]
            refusal = self.crawler.spider.redirect_refusal(chain, redirected.url, limit=self.max_redirect_times)
            if refusal is not None:
                outcome, why = refusal
                status = reason if isinstance(reason, int) else None  # the 3xx, or "meta refresh"
                raise RedirectRefused(outcome, why, [*chain, redirected.url], status)
        return super()._redirect(redirected, request, reason)


class CheckedRedirectMiddleware(_CheckedRedirects, RedirectMiddleware):
    """Scrapy's 3xx redirects, checked (see _CheckedRedirects)."""


class CheckedMetaRefreshMiddleware(_CheckedRedirects, MetaRefreshMiddleware):
    """Scrapy's <meta http-equiv=refresh> redirects, checked (see _CheckedRedirects)."""


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
