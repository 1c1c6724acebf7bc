"""Crawl tests: a helper that runs `manage.py crawl` in a subprocess against the test database."""
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

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


def test_database_url() -> str:
    """The URL of the database pytest-django created, for a subprocess to use."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False


@pytest.fixture
def run_crawl(transactional_db):
    """Runs `manage.py crawl <slug>` in its own process (as production does) and returns it finished."""

    def run(slug: str, **env) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **FAST_CRAWL_ENV, "DATABASE_URL": test_database_url(), "COLUMNS": "200", **env}
        return subprocess.run(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "crawl", slug, "--no-progress"],
            env=full_env, capture_output=True, text=True, timeout=180,
        )

    return run
