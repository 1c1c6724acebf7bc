"""Invalid traffic (ads/traffic.py): each rule gives its reason, and a person's ordinary visit none."""
import datetime as dt
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory

from ads import traffic
from ads.models import Advertiser, AdvertiserUser

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
WECHAT_ANDROID = ("Mozilla/5.0 (Linux; Android 13; PJZ110 Build/TP1A.220905.001; wv) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
                  "MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI "
                  "Language/zh_CN ABI/arm64")
ANDROID_WEBVIEW = ("Mozilla/5.0 (Linux; Android 13; PJZ110 Build/TP1A.220905.001; wv) AppleWebKit/537.36 (KHTML, like "
                   "Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36")
QQ_IOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
          "QQ/8.9.80.614 V1_IPH_SQ_8.9.80_1_APP_A Pixel/1170 Core/WKWebView Device/Apple(iPhone 13) NetType/WIFI")
UC = ("Mozilla/5.0 (Linux; U; Android 10; zh-CN; V1990A Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Version/4.0 Chrome/78.0.3904.108 UCBrowser/15.0.6.1186 Mobile Safari/537.36")
MQQ_BROWSER = ("Mozilla/5.0 (Linux; U; Android 12; zh-cn; PEHM00 Build/SKQ1.210216.001) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Version/4.0 Chrome/109.0.5414.86 MQQBrowser/15.4 Mobile Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SERVED = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def request(agent=CHROME, *, user=None, ip="203.0.113.7", **headers):
    made = RequestFactory().get("/c/token", HTTP_USER_AGENT=agent, REMOTE_ADDR=ip, **headers)
    made.user = user or AnonymousUser()
    return made


def click(made, *, after=1.0, served_agent=None, at=None):
    served_agent = served_agent or traffic.agent_of(CHROME)
    at = at or SERVED + dt.timedelta(seconds=after)
    return traffic.click_reason(made, served_at=SERVED, served_agent=served_agent, at=at)[0]


def test_a_person_in_an_ordinary_browser_is_valid_traffic():
    assert traffic.request_reason(request())[0] == ""
    assert click(request()) == ""


@pytest.mark.parametrize("agent", [GOOGLEBOT, "curl/8.5.0", "python-httpx/0.28.1", "Python/3.11 aiohttp/3.14.5",
                                   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                   "HeadlessChrome/140.0.0.0 Safari/537.36"])
def test_bots_and_crawlers_by_user_agent(agent):
    assert traffic.request_reason(request(agent))[0] == "bot"
    assert click(request(agent), served_agent=traffic.agent_of(agent)) == "bot"


@pytest.mark.parametrize("header", [{"HTTP_SEC_PURPOSE": "prefetch"}, {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
                                    {"HTTP_PURPOSE": "prefetch"}, {"HTTP_X_MOZ": "prefetch"}])
def test_prefetch_and_prerender_requests(header):
    assert traffic.request_reason(request(**header))[0] == "prefetch"
    assert click(request(**header)) == "prefetch"


@pytest.mark.django_db
def test_staff_and_enterprise_users_whoever_s_ads_they_see_but_not_signed_in_readers():
    User = get_user_model()
    staff = User.objects.create_user("editor", is_staff=True)
    member = User.objects.create_user("ruileng-member")
    advertiser = Advertiser.objects.create(name="上海瑞冷医药物流有限公司")
    AdvertiserUser.objects.create(user=member, advertiser=advertiser, role="member")
    reader = User.objects.create_user("vip-reader")
    assert traffic.request_reason(request(user=staff))[0] == "staff"
    assert traffic.request_reason(request(user=member))[0] == "enterprise"
    assert click(request(user=member)) == "enterprise"
    assert traffic.request_reason(request(user=reader))[0] == ""


def test_a_portal_preview_is_never_valid():
    assert traffic.request_reason(request(), preview=True)[0] == "preview"


@pytest.mark.parametrize("agent", ["", "hello-world", "Mozilla/5.0"])
def test_a_user_agent_in_no_browser_family(agent):
    assert traffic.request_reason(request(agent))[0] == "unknown_browser"


def test_in_app_browsers_are_known_families_of_their_own():
    assert traffic.agent_of(WECHAT_ANDROID) == traffic.Agent("WeChat", "Android")
    assert traffic.agent_of(QQ_IOS) == traffic.Agent("QQ", "iOS")
    assert traffic.agent_of(UC).browser_family == "UC Browser"
    # QQ's standalone browser is ua-parser's own family, not the QQ app's in-app browser.
    assert traffic.agent_of(MQQ_BROWSER).browser_family not in ("", "QQ")
    for agent in (WECHAT_ANDROID, QQ_IOS, UC, MQQ_BROWSER):
        assert traffic.request_reason(request(agent))[0] == ""
    # Served in WeChat, clicked in the phone's plain WebView: not the same browser.
    assert traffic.agent_of(ANDROID_WEBVIEW).browser_family != "WeChat"
    assert click(request(ANDROID_WEBVIEW), served_agent=traffic.agent_of(WECHAT_ANDROID)) == "browser_mismatch"


def test_a_click_from_another_browser_or_os_than_its_impression():
    assert click(request(FIREFOX)) == "browser_mismatch"
    assert click(request(CHROME_MAC)) == "browser_mismatch"  # same browser, another OS
    assert click(request(CHROME)) == ""


def test_a_click_sooner_than_a_person_could_make_it(settings):
    assert click(request(), after=0.2) == "too_fast"
    assert click(request(ip="203.0.113.8"), after=0.5) == ""
    settings.AD_CLICK_MIN_SECONDS = 2.0
    assert click(request(ip="203.0.113.9"), after=1.5) == "too_fast"


def test_one_click_a_minute_per_ip_and_other_addresses_count_apart():
    assert click(request(), after=1) == ""
    assert click(request(), after=20) == "ip_limit"
    assert click(request(ip="203.0.113.99"), after=20) == ""  # the same /24, another address
    assert click(request(ip="2001:db8::1"), after=20) == ""


def test_three_clicks_in_ten_minutes_per_ip():
    # Two and more minutes apart, so that the minute's limit never refuses them.
    assert [click(request(), after=s) for s in (1, 130, 260)] == ["", "", ""]
    assert click(request(), after=390) == "ip_limit"


def test_the_day_s_limit_and_limits_from_the_setting(settings):
    settings.AD_CLICK_LIMITS = [(86400, 2)]
    assert [click(request(), after=s) for s in (1, 2, 3)] == ["", "", "ip_limit"]


def test_an_invalid_click_does_not_use_up_the_ip_s_allowance():
    assert click(request(GOOGLEBOT), served_agent=traffic.agent_of(GOOGLEBOT)) == "bot"
    assert click(request(), after=0.1) == "too_fast"
    assert click(request(), after=2) == ""


def test_the_cache_holds_no_address():
    click(request(ip="198.51.100.23"))
    keys = list(cache._cache.keys())  # the local memory cache of the tests
    assert keys and not any("198.51.100" in key for key in keys)


def test_the_limits_in_redis_count_the_full_ip_with_expiry_and_store_no_address(require_redis, settings):
    """Production counts in Redis (CACHE_URL): the same answers as the local memory cache, every
    counter with its expiry, and no key or value holding the address."""
    import redis

    prefix = f"test-traffic-{secrets.token_hex(4)}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.CELERY_BROKER_URL, "KEY_PREFIX": prefix}}
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        assert click(request(ip="198.51.100.23"), after=1) == ""
        assert click(request(ip="198.51.100.23"), after=20) == "ip_limit"
        assert click(request(ip="198.51.100.24"), after=20) == ""  # the same /24, another address
        keys = list(client.scan_iter(f"{prefix}:*"))
        assert len(keys) == 2 * len(traffic.click_limits())  # each address, each window
        assert all(0 < client.ttl(key) <= 2 * 86400 for key in keys)
        assert not any(b"198.51.100" in key or b"198.51.100" in client.get(key) for key in keys)
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_the_limits_setting_is_checked():
    from django.core.exceptions import ImproperlyConfigured

    from contentlib.config import env

    assert env.env_limits("NO_SUCH_VARIABLE", "1/60,25/86400") == [(60, 1), (86400, 25)]
    with pytest.raises(ImproperlyConfigured, match="COUNT/SECONDS"):
        import os
        os.environ["AD_TEST_LIMITS"] = "1 per minute"
        try:
            env.env_limits("AD_TEST_LIMITS", "1/60")
        finally:
            del os.environ["AD_TEST_LIMITS"]


@pytest.mark.django_db
def test_the_reason_is_decided_once_per_request_and_again_for_another_user(monkeypatch):
    parsed = []
    real = traffic.agent_of
    monkeypatch.setattr(traffic, "agent_of", lambda agent: parsed.append(agent) or real(agent))
    made = request()
    assert traffic.request_reason(made) == traffic.request_reason(made) == ("", traffic.Agent("Chrome", "Windows"))
    assert len(parsed) == 1  # the activity log and the sponsored block ask on one page view
    assert traffic.request_reason(made, preview=True)[0] == "preview"
    made.user = get_user_model().objects.create_user("editor", is_staff=True)  # signed in during the request
    assert traffic.request_reason(made)[0] == "staff"
