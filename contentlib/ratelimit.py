"""Per-client rate limits (search now, asking later), counted in Django's cache.

The cache is Redis in production (CACHE_URL), so every web process counts into the same window; the
embedded default is a local memory cache, which counts per process (`manage.py check --deploy`
warns about it). A sliding window is estimated from two fixed windows, the current one and the one
before it weighted by how much of it still falls inside the last `window_seconds`, so a client
cannot double its allowance by straddling a window boundary.
"""
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class RateLimit:
    allowed: bool
    limit: int
    retry_after_seconds: int  # 0 when allowed


def rate_limit_hit(*, scope: str, client: str, limit: int, window_seconds: int = 60,
                   now: float | None = None) -> RateLimit:
    """Counts one request of `client` (contentlib.readers.rate_limit_client) in `scope` and says
    whether it is within `limit` requests per `window_seconds`. A limit of 0 means no limit.

    A refused request is not counted, so a client that waits gets in again.
    """
    if limit <= 0:
        return RateLimit(True, limit, 0)
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    current_key = f"ratelimit:{scope}:{client}:{window}"
    previous_key = f"ratelimit:{scope}:{client}:{window - 1}"
    counts = cache.get_many([current_key, previous_key])
    elapsed = (now % window_seconds) / window_seconds
    previous = counts.get(previous_key, 0)
    estimate = counts.get(current_key, 0) + previous * (1 - elapsed)
    if estimate + 1 > limit:
        if previous:  # room once enough of the previous window has slid out
            wait = ((estimate + 1 - limit) / previous) * window_seconds
        else:  # this window is full: it must start sliding out after the next boundary
            wait = window_seconds * (1 - elapsed) + window_seconds / limit
        return RateLimit(False, limit, max(1, math.ceil(wait)))
    # Kept for two windows: the next window reads this one as its "previous".
    if not cache.add(current_key, 1, timeout=2 * window_seconds):
        try:
            cache.incr(current_key)
        except ValueError:  # expired between add and incr
            cache.set(current_key, 1, timeout=2 * window_seconds)
    return RateLimit(True, limit, 0)
