"""Waiting for work that another thread or process does (a Celery worker, a crawl)."""
import time


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1) -> bool:
    """Polls `predicate` until it is true (returns True) or `timeout` seconds pass (returns False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
