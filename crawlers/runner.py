"""Runs one crawl of one source in this process: lock, index, Scrapy, record.

Scrapy's reactor cannot be restarted, so a process runs one crawl: `manage.py crawl` is that
process, and the Celery task and `manage.py demo` start it as a subprocess.
"""
import gc
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawlers import services
from crawlers.models import CrawlRun
from crawlers.scrapy_settings import scrapy_settings
from crawlers.spiders import SPIDER_FOR_KIND

_QUIET_LOGGERS = ("twisted", "trafilatura", "htmldate", "courlan", "charset_normalizer", "py.warnings",
                  "celery.app.trace", "kombu.connection")


class _ScrapyWarningsOnly(logging.Filter):
    """Drops Scrapy's records below WARNING. A handler filter, because CrawlerProcess resets the
    levels of the "scrapy" loggers while it starts (and logs at INFO straight after)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith("scrapy")


def crawl_source(*, source, on_page: Callable[[str, str], None] | None = None) -> CrawlRun:
    """Crawls `source` to the end, returning its closed `CrawlRun` with outcome counts.

    Raises ApplicationError when another crawl of the source is running.
    """
    services.minhash_index_backfill()  # the index covers every article, not only crawled ones
    run = services.crawl_run_start(source_id=source.id)
    # Everything loaded so far (Django, Scrapy, trafilatura, the models) lives as long as the process:
    # keep it out of the collector's full passes, which otherwise re-walk it every few batches.
    gc.freeze()
    # A page allocates thousands of short-lived objects (responses, Deferreds, ORM rows): collect the
    # young generation every 20,000 allocations rather than every 700 (GC time 0.24 -> 0.07 s per
    # 1,000 pages). The helper processes fork later and inherit both.
    gc.set_threshold(20_000, 20, 10)
    _quiet_logs()
    process = CrawlerProcess(scrapy_settings(source))
    crawler = process.create_crawler(SPIDER_FOR_KIND[source.kind])
    crawler.signals.connect(_quiet_logs, signal=signals.engine_started)
    error = ""
    try:
        process.crawl(crawler, source=source, run_id=run.id, on_page=on_page)
        process.start()
    except Exception as failure:  # noqa: BLE001 - recorded on the run, then re-raised
        error = f"{type(failure).__name__}: {failure}"
        services.crawl_run_finish(run_id=run.id, finish_reason="error", error=error)
        raise
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if "finish_reason" not in stats:
        # Scrapy logs a spider that fails to start and returns normally; the run must say it failed.
        return services.crawl_run_finish(
            run_id=run.id, finish_reason="error",
            error="The crawl did not start; Scrapy logged the cause above. Fix it and run the crawl again.",
        )
    return services.crawl_run_finish(run_id=run.id, finish_reason=str(stats["finish_reason"]))


def _quiet_logs() -> None:
    """Keeps Scrapy and the extraction libraries to warnings; Django's root handler prints them."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _ScrapyWarningsOnly) for f in handler.filters):
            handler.addFilter(_ScrapyWarningsOnly())
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def crawl_command_env(**overrides: str) -> dict[str, str]:
    """The environment for a `manage.py crawl` child process: ours, plus this process's database.

    Passing DATABASE_URL explicitly makes the child write where the parent reads, even when the
    parent's database is not the one the environment names (a test database, for instance).
    """
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    # The same DATA_DIR too: fitted statistics and the embedded index must be the parent's.
    return {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(settings.DATA_DIR), **overrides}


def crawl_subprocess(slug: str, *, progress: bool = True, capture: bool = False, timeout: float | None = None,
                     **env: str) -> subprocess.CompletedProcess:
    """Runs `manage.py crawl <slug>` in a child process (Scrapy's reactor cannot restart) and waits for it."""
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "crawl", slug]
    if not progress:
        command.append("--no-progress")
    return subprocess.run(command, env=crawl_command_env(**env), capture_output=capture, text=True,
                          timeout=timeout, check=False)
