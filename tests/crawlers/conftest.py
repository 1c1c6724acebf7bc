"""Crawl tests: a helper that runs `manage.py crawl` in a subprocess against the test database."""
import subprocess

import pytest

from crawlers import runner
from tests.crawlers.site import MAX_PAGE_BYTES

# Politeness scaled down so the suite stays fast; the behaviour (throttling, backoff, caps) is the same.
FAST_CRAWL_ENV = {
    "CRAWL_DOWNLOAD_DELAY": "0.01",
    "CRAWL_AUTOTHROTTLE_MAX_DELAY": "0.2",
    "CRAWL_AUTOTHROTTLE_TARGET_CONCURRENCY": "2",
    "CRAWL_RETRY_BACKOFF_SECONDS": "0.05",
    "CRAWL_TIMEOUT_SECONDS": "10",
    "CRAWL_CONCURRENCY_PER_DOMAIN": "2",
    "CRAWL_MAX_PAGE_BYTES": str(MAX_PAGE_BYTES),
}


@pytest.fixture
def run_crawl(transactional_db):
    """Runs `manage.py crawl <slug>` in its own process (as production does) and returns it finished."""

    def run(slug: str, **env) -> subprocess.CompletedProcess:
        return runner.crawl_subprocess(slug, progress=False, capture=True, timeout=180,
                                       **{**FAST_CRAWL_ENV, "COLUMNS": "200", **env})

    return run
