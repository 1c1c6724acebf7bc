"""Several rate limits checked together (contentlib.ratelimit.rate_limits_hit), as the click
redirect's per-IP limits are: the same answers as checking them one after the other, in the local
memory cache of the tests and in Redis, where every counter expires and the whole check is two
round trips."""
import secrets

import pytest
import redis
from django.core.cache import cache, caches

from contentlib.ratelimit import rate_limit_hit, rate_limits_hit

NOW = 1_800_000_000.0 - (1_800_000_000.0 % 86400) + 30  # 30 s into a day, a minute and ten minutes
LIMITS = [("day", 4, 86400), ("ten", 3, 600), ("minute", 1, 60)]


@pytest.fixture
def redis_cache(require_redis, settings):
    """The default cache in Redis at the test run's own database number (CELERY_BROKER_URL's), under a
    key prefix of its own whose keys are deleted afterwards; yields a client of that database."""
    prefix = f"test-ratelimit-{secrets.token_hex(4)}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.CELERY_BROKER_URL, "KEY_PREFIX": prefix}}
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        yield client
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


@pytest.fixture(params=["locmem", "redis"])
def backend(request):
    """The default cache: the tests' local memory, or Redis (`redis_cache`)."""
    if request.param == "redis":
        return request.getfixturevalue("redis_cache")
    cache.clear()
    request.addfinalizer(cache.clear)
    return "locmem"


def _counts(client: str) -> dict[str, int]:
    keys = [f"ratelimit:{scope}:{client}:{int(NOW // window)}" for scope, _, window in LIMITS]
    found = caches["default"].get_many(keys)
    return {scope: found.get(key, 0) for (scope, _, _), key in zip(LIMITS, keys, strict=True)}


def test_counted_in_every_limit_before_the_first_that_refuses(backend):
    first = rate_limits_hit(client="c", limits=LIMITS, now=NOW)
    assert first.allowed and _counts("c") == {"day": 1, "ten": 1, "minute": 1}
    # The minute's limit refuses the second: the day and the ten minutes (checked before it) count it.
    second = rate_limits_hit(client="c", limits=LIMITS, now=NOW + 1)
    assert not second.allowed and second.limit == 1 and second.retry_after_seconds >= 1
    assert _counts("c") == {"day": 2, "ten": 2, "minute": 1}
    third = rate_limits_hit(client="c", limits=LIMITS, now=NOW + 2)
    assert not third.allowed and third.limit == 1 and _counts("c") == {"day": 3, "ten": 3, "minute": 1}
    # The ten minutes' limit refuses the fourth: only the day counts it; the minute's is not reached.
    fourth = rate_limits_hit(client="c", limits=LIMITS, now=NOW + 3)
    assert not fourth.allowed and fourth.limit == 3 and _counts("c") == {"day": 4, "ten": 3, "minute": 1}
    # The day's refuses the fifth: counted nowhere.
    fifth = rate_limits_hit(client="c", limits=LIMITS, now=NOW + 4)
    assert not fifth.allowed and fifth.limit == 4 and _counts("c") == {"day": 4, "ten": 3, "minute": 1}
    assert rate_limits_hit(client="another", limits=LIMITS, now=NOW + 1).allowed


def test_the_same_answers_as_one_limit_after_the_other(backend):
    moments = (0, 1, 70, 80, 130, 131, 260, 700, 86400 * 2)
    together = [rate_limits_hit(client="a", limits=LIMITS, now=NOW + s).allowed for s in moments]
    apart = []
    for s in moments:
        # all() stops at the first refusal, as the windows checked one after the other would.
        apart.append(all(rate_limit_hit(scope=scope, client="b", limit=limit, window_seconds=window,
                                        now=NOW + s).allowed for scope, limit, window in LIMITS))
    assert together == apart and together[0] and together[-1] and not all(together)
    assert _counts("a") == _counts("b")


def test_a_limit_of_zero_is_no_limit(backend):
    assert all(rate_limits_hit(client="z", limits=[("off", 0, 60)], now=NOW).allowed for _ in range(5))
    assert rate_limits_hit(client="z", limits=[("off", 0, 60), ("minute", 1, 60)], now=NOW).allowed
    assert not rate_limits_hit(client="z", limits=[("off", 0, 60), ("minute", 1, 60)], now=NOW).allowed


def test_in_redis_every_counter_expires_after_two_windows(redis_cache):
    rate_limits_hit(client="e", limits=LIMITS, now=NOW)
    rate_limits_hit(client="e", limits=LIMITS[:2], now=NOW)
    for scope, _, window in LIMITS:
        key = caches["default"].make_and_validate_key(f"ratelimit:{scope}:e:{int(NOW // window)}")
        assert 0 < redis_cache.ttl(key) <= 2 * window


def test_in_redis_the_check_is_two_round_trips_however_many_limits(redis_cache, monkeypatch):
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    rate_limits_hit(client="warm", limits=LIMITS, now=NOW)  # the connection's own handshake is not counted
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    assert rate_limits_hit(client="r", limits=LIMITS, now=NOW).allowed
    assert len(sent) == 2  # one MGET of every window, one MULTI ... EXEC of the increments
    assert _counts("r") == {"day": 1, "ten": 1, "minute": 1}
