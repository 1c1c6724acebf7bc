"""Scrapy settings for one crawl, from the Django settings (CRAWL_*) and the Source row."""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from scrapy.settings import default_settings


def user_agent() -> str:
    return f"Mozilla/5.0 (compatible; {settings.CRAWLER_BOT_NAME}/1.0; +{settings.CRAWLER_CONTACT_URL})"


# Scrapy's components a crawl of ours does not use, or replaces with its own.
_OFF = {
    "DOWNLOADER_MIDDLEWARES": {
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",  # crawlers.middlewares.RobotsTxtOutcomeMiddleware
        "scrapy.downloadermiddlewares.retry.RetryMiddleware",  # crawlers.middlewares.BackoffRetryMiddleware
        "scrapy.downloadermiddlewares.redirect.RedirectMiddleware",  # crawlers.middlewares.CheckedRedirectMiddleware
        "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware",  # ...CheckedMetaRefreshMiddleware
        "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",  # sources carry no credentials
        "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",  # see COOKIES_ENABLED
    },
    "SPIDER_MIDDLEWARES": {
        "scrapy.spidermiddlewares.referer.RefererMiddleware",  # no Referer: sites need not know our path
        "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware",  # a developer warning
    },
    "EXTENSIONS": {
        "scrapy.extensions.telnet.TelnetConsole",  # nobody attaches to a crawl process
        "scrapy.extensions.remote_control.RemoteControl",  # needs the asyncio reactor; nobody attaches either
        "scrapy.extensions.memusage.MemoryUsage",  # pages are dropped once saved (ProgressPipeline)
        "scrapy.extensions.memdebug.MemoryDebugger",
        "scrapy.extensions.feedexport.FeedExporter",  # pages go to the library, not to feeds
        "scrapy.extensions.logstats.LogStats",  # the crawl command shows progress
        "scrapy.extensions.spiderstate.SpiderState",  # no JOBDIR: crawls do not resume
    },
}


def _scrapy_defaults_without(setting: str) -> dict:
    """Scrapy's default components for `setting` (its `<setting>_BASE`) without the ones in _OFF."""
    defaults = getattr(default_settings, f"{setting}_BASE")
    unknown = _OFF[setting] - defaults.keys()
    if unknown:
        raise ImproperlyConfigured(
            f"{', '.join(sorted(unknown))} is not among Scrapy's default {setting} any more (renamed or "
            "removed in this Scrapy version): update _OFF in crawlers/scrapy_settings.py."
        )
    return {path: order for path, order in defaults.items() if path not in _OFF[setting]}


def scrapy_settings(source) -> dict:
    """Returns the settings of a crawl of `source`; every value that differs from Scrapy's default says why."""
    max_bytes = settings.CRAWL_MAX_PAGE_BYTES
    return {
        "BOT_NAME": settings.CRAWLER_BOT_NAME,
        "USER_AGENT": user_agent(),  # names the bot and where to reach its operators
        # The pipelines call Django's synchronous ORM in the reactor thread. The asyncio reactor
        # (Scrapy's default) runs an event loop there, which makes Django refuse sync ORM calls, so
        # this crawl runs the plain epoll reactor. Each crawl is its own process (reactors do not restart).
        "TWISTED_REACTOR": "twisted.internet.epollreactor.EPollReactor",
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,  # adapt the delay to the site's response times
        "AUTOTHROTTLE_START_DELAY": settings.CRAWL_DOWNLOAD_DELAY,
        "AUTOTHROTTLE_MAX_DELAY": settings.CRAWL_AUTOTHROTTLE_MAX_DELAY,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": settings.CRAWL_AUTOTHROTTLE_TARGET_CONCURRENCY,
        "DOWNLOAD_DELAY": settings.CRAWL_DOWNLOAD_DELAY,  # AutoThrottle never goes below it
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.CRAWL_CONCURRENCY_PER_DOMAIN,  # politeness cap per site
        # The global cap (16 by default) must not undercut the per-site one: a crawl is mostly one site.
        "CONCURRENT_REQUESTS": max(16, settings.CRAWL_CONCURRENCY_PER_DOMAIN),
        "DOWNLOAD_TIMEOUT": settings.CRAWL_TIMEOUT_SECONDS,  # 180 s by default: too patient for one page
        "RETRY_TIMES": settings.CRAWL_RETRY_TIMES,
        "REDIRECT_MAX_TIMES": settings.CRAWL_MAX_REDIRECTS,  # 20 by default; a longer chain is recorded as a loop
        "RETRY_BACKOFF_SECONDS": settings.CRAWL_RETRY_BACKOFF_SECONDS,  # ours: doubled on every retry
        "PAGE_MAX_BYTES": max_bytes,  # ours: PageDownloadGuard cuts pages off here and records "too large"
        "DOWNLOAD_MAXSIZE": max_bytes * 4,  # backstop for sitemaps and feeds, which are not guarded
        "DOWNLOAD_WARNSIZE": 0,  # the guard reports large pages itself
        # Only what a crawl of ours uses: each component costs start-up, and the downloader and
        # spider middlewares run on every request. Kept: robots.txt, offsite, timeouts, default
        # headers, user agent, retries, redirects (3xx and meta refresh), compression, proxies from
        # the environment, depth, URL length, HTTP errors, AutoThrottle, CloseSpider, stats.
        "DOWNLOAD_HANDLERS": {"data": None, "file": None, "s3": None, "ftp": None},  # pages are http(s) only
        # Scrapy's components we turn off (_OFF) are left out of its *_BASE dictionaries rather than
        # set to None here: Scrapy imports every key of these dictionaries, None or not, to compare
        # them, which cost a crawl's start-up ~0.15 s and ~240 modules. Components Scrapy adds to
        # its defaults in later versions stay on.
        "DOWNLOADER_MIDDLEWARES_BASE": _scrapy_defaults_without("DOWNLOADER_MIDDLEWARES"),
        "DOWNLOADER_MIDDLEWARES": {
            "crawlers.middlewares.RobotsTxtOutcomeMiddleware": 100,  # same place as Scrapy's
            "crawlers.middlewares.BackoffRetryMiddleware": 550,  # same place as Scrapy's
            "crawlers.middlewares.CheckedMetaRefreshMiddleware": 580,  # same place as Scrapy's
            "crawlers.middlewares.CheckedRedirectMiddleware": 600,  # same place as Scrapy's
            "crawlers.middlewares.BackoffDelayMiddleware": 950,  # last before the downloader
        },
        "DOWNLOADER_STATS": False,  # request and response sizes re-serialized per page; nobody reads them
        "SPIDER_MIDDLEWARES_BASE": _scrapy_defaults_without("SPIDER_MIDDLEWARES"),
        "EXTENSIONS_BASE": _scrapy_defaults_without("EXTENSIONS"),
        "EXTENSIONS": {"crawlers.extensions.PageDownloadGuard": 0},
        "ITEM_PIPELINES": {
            "crawlers.pipelines.ExtractionPipeline": 100,
            "crawlers.pipelines.QualityPipeline": 200,
            "crawlers.pipelines.SavePipeline": 300,
            "crawlers.pipelines.ProgressPipeline": 900,
        },
        # Breadth first: listing pages before the pages they lead to, so the first copy of an
        # article a site shows is the one kept as original.
        # Scrapy starts this many cooperative workers for every response's output, whatever it holds
        # (100 by default: ~1.5 ms per page). A page yields one item, behind its links.
        "CONCURRENT_ITEMS": 4,
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "CLOSESPIDER_ITEMCOUNT": source.page_limit,  # one item per URL: the source's page limit
        "CLOSESPIDER_TIMEOUT": source.time_limit_seconds,
        "HTTPERROR_ALLOWED_CODES": [],
        "LOG_INSTALL_ROOT_HANDLER": False,  # Django's logging config already prints to the console
        "LOG_LEVEL": "WARNING",  # the crawl command shows progress; Scrapy's INFO lines would drown it
        "COOKIES_ENABLED": False,  # articles are public; cookies only make a crawl look like a visitor
    }
