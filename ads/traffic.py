"""Invalid traffic: which impressions and clicks a person did not make, or that must not be billed.

Every rule gives a reason code of `ads.models.InvalidReason`; the first that applies wins, in this
order (cheap checks first, the per-IP counter last so that only otherwise valid clicks use it up):

    preview ─▶ bot ─▶ prefetch ─▶ staff ─▶ enterprise ─▶ unknown_browser
        (clicks also) ─▶ browser_mismatch ─▶ too_fast ─▶ ip_limit

- bots and crawlers by their user agent: `crawlerdetect`, not a hand-kept list;
- prefetch and preview requests: `Purpose` / `Sec-Purpose` (and Firefox's `X-Moz`) saying prefetch;
- staff and enterprise users (`ads.AdvertiserUser`), whoever's ads they look at, and the portal's
  previews; signed-in readers such as VIP members are valid traffic;
- a user agent that `ua-parser` places in no browser family, or a click whose browser or OS family
  differs from its impression's (the families travel in the signed click token). WeChat and QQ's
  in-app browsers get their own family (ua-parser's rules see WeChat on Android as a plain WebView);
  UC Browser is ua-parser's own;
- a click sooner after serving than a person could make it (AD_CLICK_MIN_SECONDS, 0.5 s);
- per-IP click limits (AD_CLICK_LIMITS: 1 a minute, 3 in 10 minutes, 10 an hour, 25 a day),
  counted in Django's cache (Redis in production) under a keyed hash of the full IP, each counter
  expiring with its window: the address is never stored, not even in the cache.

The reader key and the truncated IP that are stored come from `contentlib.readers`.
"""
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import ua_parser
from crawlerdetect import CrawlerDetect
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from ua_parser.matchers import UserAgentMatcher

from contentlib import readers
from contentlib.ratelimit import rate_limits_hit

# The codes of ads.models.InvalidReason that this module gives.
PREVIEW, BOT, PREFETCH, STAFF, ENTERPRISE = "preview", "bot", "prefetch", "staff", "enterprise"
UNKNOWN_BROWSER, BROWSER_MISMATCH, TOO_FAST, IP_LIMIT = "unknown_browser", "browser_mismatch", "too_fast", "ip_limit"

_PREFETCH = re.compile(r"\b(prefetch|prerender|preview)\b", re.IGNORECASE)
# In-app browsers ua-parser's own rules do not name (WeChat on Android reads as "Chrome Mobile
# WebView", QQ's app on iOS as "Mobile Safari UI/WKWebView"): tried before them. RE2 syntax (no
# lookbehind): QQ/ not preceded by a letter (MQQBrowser/ is QQ's standalone browser, ua-parser's own).
_IN_APP = [
    UserAgentMatcher(r"MicroMessenger/(\d+)\.(\d+)(?:\.(\d+))?", "WeChat"),
    UserAgentMatcher(r"(?:^|[^A-Za-z])QQ/(\d+)\.(\d+)(?:\.(\d+))?", "QQ"),
]
# Only the browser and the OS are read: the device rules are the longest list and nothing uses them.
_DOMAINS = ua_parser.Domain.USER_AGENT | ua_parser.Domain.OS


@lru_cache(maxsize=1)
def _parser() -> ua_parser.Parser:
    """ua-parser with its builtin rules and ours, on its best resolver: RE2 (google-re2, a
    dependency), about 6 times faster than Python's re on real user agents (bench/user_agents.py,
    docs/BENCHMARKS.md "Question page"), behind ua-parser's cache of recent user agents."""
    agents, systems, devices = ua_parser.load_builtins()
    return ua_parser.Parser.from_matchers((_IN_APP + list(agents), list(systems), list(devices)))


@lru_cache(maxsize=1)
def _crawlers() -> CrawlerDetect:
    return CrawlerDetect()


@dataclass(frozen=True)
class Agent:
    """A user agent's browser and OS families ("" when ua-parser cannot place it)."""

    browser_family: str
    os_family: str


def agent_of(user_agent: str) -> Agent:
    """Returns the browser and OS families ua-parser gives the user agent ("" for none: its "Other")."""
    result = _parser()((user_agent or "")[:512], _DOMAINS)
    browser = result.user_agent.family if result.user_agent else ""
    system = result.os.family if result.os else ""
    return Agent("" if browser == "Other" else browser, "" if system == "Other" else system)


def is_bot(user_agent: str) -> bool:
    """True for a crawler, spider, monitor or HTTP library by its user agent (crawlerdetect)."""
    return bool(user_agent) and _crawlers().isCrawler(user_agent[:512])


def is_prefetch(request) -> bool:
    """True for a request the browser made ahead of the reader (prefetch, prerender, link preview)."""
    meta = request.META
    return any(_PREFETCH.search(meta.get(header, "")) for header in ("HTTP_SEC_PURPOSE", "HTTP_PURPOSE", "HTTP_X_MOZ",
                                                                    "HTTP_X_PURPOSE"))


def viewer_reason(user) -> str:
    """"staff" or "enterprise" for the people who must never be billed for, else ""."""
    if user is None or not user.is_authenticated:
        return ""
    if user.is_staff or user.is_superuser:
        return STAFF
    from ads.models import AdvertiserUser  # noqa: PLC0415 - ads.models imports the app registry

    if AdvertiserUser.objects.filter(user_id=user.pk).exists():
        return ENTERPRISE
    return ""


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


def request_reason(request, *, preview: bool = False) -> tuple[str, Agent]:
    """The reason this request is invalid traffic for an impression ("" when valid), and its agent.
    Decided once per request and user (the activity log and the sponsored block both ask)."""
    user = getattr(request, "user", None)
    key = (preview, getattr(user, "pk", None))
    memo = getattr(request, "_ads_request_reason", None)
    if memo is not None and memo[0] == key:
        return memo[1]
    result = _request_reason(request, user=user, preview=preview)
    request._ads_request_reason = (key, result)
    return result


def _request_reason(request, *, user, preview: bool) -> tuple[str, Agent]:
    agent_string = _user_agent(request)
    agent = agent_of(agent_string)
    if preview:
        return PREVIEW, agent
    if is_bot(agent_string):
        return BOT, agent
    if is_prefetch(request):
        return PREFETCH, agent
    reason = viewer_reason(user)
    if reason:
        return reason, agent
    if not agent.browser_family:
        return UNKNOWN_BROWSER, agent
    return "", agent


def click_limits() -> list[tuple[int, int]]:
    """(window in seconds, most clicks in it) from AD_CLICK_LIMITS, the longest window first."""
    return sorted(settings.AD_CLICK_LIMITS, reverse=True)


def _ip_client(request) -> str:
    # The full address, as the limits ask; hashed with a key of its own so the cache holds no address.
    return salted_hmac("ads.traffic.click-ip", readers.client_ip(request), algorithm="sha256").hexdigest()[:32]


def ip_limit_hit(request, *, now: float | None = None) -> bool:
    """Counts one click from this client's full IP in every window; True when a window is full.

    The longest window is checked first: a click it refuses is counted nowhere (contentlib.ratelimit
    counts only what it allows), so a refused burst does not use up the shorter windows. All the
    windows are read in one cache round trip and counted in another (contentlib.ratelimit.rate_limits_hit).
    """
    limits = [(f"click{window}", limit, window) for window, limit in click_limits()]
    return not rate_limits_hit(client=_ip_client(request), limits=limits, now=now).allowed


def click_reason(request, *, served_at: dt.datetime, served_agent: Agent, at: dt.datetime | None = None,
                 count_ip: bool = True) -> tuple[str, Agent]:
    """The reason a click is invalid traffic ("" when valid), given when its impression was served
    and the agent families it was served to (both from the signed click token). The per-IP limits
    count the click only when every other rule let it through, and only if `count_ip`."""
    reason, agent = request_reason(request)
    if reason:
        return reason, agent
    if (agent.browser_family, agent.os_family) != (served_agent.browser_family, served_agent.os_family):
        return BROWSER_MISMATCH, agent
    at = at or timezone.now()
    if (at - served_at).total_seconds() < settings.AD_CLICK_MIN_SECONDS:
        return TOO_FAST, agent
    if count_ip and ip_limit_hit(request, now=at.timestamp()):
        return IP_LIMIT, agent
    return "", agent


def visitor_make(request, *, reason: str, agent: Agent):
    """The `ads.events.Visitor` of this request: its reader key and truncated IP (contentlib.readers;
    the full IP is never stored), its agent families and its invalid-traffic reason."""
    from ads.events import Visitor  # noqa: PLC0415 - events imports the auction; traffic stays light

    return Visitor(reader_key=readers.reader_key(request), ip_prefix=readers.ip_truncate(readers.client_ip(request)),
                   browser_family=agent.browser_family, os_family=agent.os_family, invalid_reason=reason)
