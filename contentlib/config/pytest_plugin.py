"""Loaded by pytest before Django's settings (pyproject.toml: addopts `-p contentlib.config.pytest_plugin`).

The test suite runs without SECRET_KEY, as `make test` does: on the local key kept in DATA_DIR.
Subprocesses the tests start (crawls, servers) inherit the setting.

Under pytest-xdist (`make test` runs two workers) each worker gets its own Redis database, counted
down from CELERY_BROKER_URL's (gw0 keeps it, gw1 takes the one below, ...): the tests purge the
Celery queues, flush their cache and run a real worker there, which must never take another
worker's tasks. pytest-django already gives each worker its own test database (test_<name>_gw1).
"""
import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("LOCAL_SECRET_KEY", "1")


def _broker_for_worker(url: str, worker: str) -> str:
    """`url` with its database number lowered by the xdist worker's index (gw1 → one below)."""
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    if database - index < 0:
        raise RuntimeError(
            f"CELERY_BROKER_URL={url} leaves no Redis database for xdist worker {worker}: "
            f"use a higher database number (the tests' default is 15) or fewer workers (-n)."
        )
    return urlunsplit(parts._replace(path=f"/{database - index}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
    os.environ["CELERY_BROKER_URL"] = _broker_for_worker(os.environ["CELERY_BROKER_URL"], _worker)
