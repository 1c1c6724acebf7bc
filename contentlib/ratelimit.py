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

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache


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
    return rate_limits_hit(client=client, limits=[(scope, limit, window_seconds)], now=now)


def rate_limits_hit(*, client: str, limits: list[tuple[str, int, int]], now: float | None = None) -> RateLimit:
    """Checks `client` against several limits, (scope, limit, window in seconds) each, in their
    order, as `rate_limit_hit` would one after the other: the request is counted in every limit
    before the first that refuses it, and that refusal is returned (else an allowed RateLimit).

    Two cache round trips whatever the number of limits: one read of every window's counters
    (`get_many`), then, with Redis, one MULTI/EXEC pipeline of the increments; other caches count
    key by key (`add`, else `incr`), as before.
    """
    now = time.time() if now is None else now
    keys, windows = [], []
    for scope, limit, window_seconds in limits:
        window = int(now // window_seconds)
        current_key, previous_key = f"ratelimit:{scope}:{client}:{window}", f"ratelimit:{scope}:{client}:{window - 1}"
        windows.append((limit, window_seconds, current_key, previous_key))
        if limit > 0:
            keys += [current_key, previous_key]
    counts = cache.get_many(keys) if keys else {}
    counted: list[tuple[str, int]] = []  # (key, timeout) of the windows that allow the request
    verdict = RateLimit(True, limits[-1][1] if limits else 0, 0)
    for limit, window_seconds, current_key, previous_key in windows:
        if limit <= 0:
            continue
        refusal = _refusal(counts.get(current_key, 0), counts.get(previous_key, 0), limit=limit,
                           window_seconds=window_seconds, now=now)
        if refusal is not None:
            verdict = refusal
            break
        # Kept for two windows: the next window reads this one as its "previous".
        counted.append((current_key, 2 * window_seconds))
    _count(counted)
    return verdict


def _refusal(current: int, previous: int, *, limit: int, window_seconds: int, now: float) -> RateLimit | None:
    """The refusal of one more request in a window holding `current` with `previous` before it, or None."""
    elapsed = (now % window_seconds) / window_seconds
    estimate = current + previous * (1 - elapsed)
    if estimate + 1 <= limit:
        return None
    if previous:  # room once enough of the previous window has slid out
        wait = ((estimate + 1 - limit) / previous) * window_seconds
    else:  # this window is full: it must start sliding out after the next boundary
        wait = window_seconds * (1 - elapsed) + window_seconds / limit
    return RateLimit(False, limit, max(1, math.ceil(wait)))


def _count(keys: list[tuple[str, int]]) -> None:
    """Adds one to each counter, creating it with its timeout when it does not exist."""
    if not keys:
        return
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip. SET NX EX then INCR: a new counter starts at 1 with its expiry, an existing
        # one keeps its own; in MULTI/EXEC so that no counter expires between the two and lives on
        # without an expiry. Django's RedisSerializer stores integers as plain numbers, so INCR
        # works on them and get_many reads them back as int.
        names = [backend.make_and_validate_key(key) for key, _ in keys]
        # backend._cache is Django's RedisCacheClient; its write client is the redis-py client.
        with backend._cache.get_client(names[0], write=True).pipeline(transaction=True) as pipe:
            for name, (_, timeout) in zip(names, keys, strict=True):
                pipe.set(name, 0, ex=timeout, nx=True)
                pipe.incr(name)
            pipe.execute()
        return
    for key, timeout in keys:
        if not cache.add(key, 1, timeout=timeout):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=timeout)
