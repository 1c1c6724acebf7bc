"""Who a request comes from: the client IP through the trusted proxies, its truncation for anything
stored, the ad day, and the reader key that rate limits, tracking and the activity log share.

This is the one place that reads a client's address. `X-Forwarded-For` is read only as far as
TRUSTED_PROXY_COUNT says proxies of ours wrote it: each proxy appends the address it received the
request from, so with n proxies in front the client is the n-th address from the right, and
anything to the left of it is whatever the client chose to send.
"""
import datetime as dt
import ipaddress
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

_UNKNOWN = "0.0.0.0"  # an unreadable address: counted, never trusted


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip(request) -> str:
    """Returns the client's IP address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n the n-th address
    of X-Forwarded-For from the right (the one our outermost proxy saw).

    A header with fewer addresses than proxies means a proxy did not append (a misconfiguration):
    REMOTE_ADDR is used then, never an address the client could have written. Read once per request
    (the rate limits, the reader key and the stored prefix all ask): the answer is kept on the
    request, which holds the headers it comes from anyway, and goes with it.
    """
    try:
        return request._client_ip
    except AttributeError:
        request._client_ip = _client_ip(request)
        return request._client_ip


def _client_ip(request) -> str:
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            address = _address(forwarded[-count])
            if address is not None:
                return str(address)
    return str(remote) if remote is not None else _UNKNOWN


def ip_truncate(ip: str) -> str:
    """Returns the network an address belongs to, as stored anywhere: IPv4 /24, IPv6 /48."""
    address = _address(ip)
    if address is None:
        return _UNKNOWN
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def ad_day(at: dt.datetime | None = None) -> dt.date:
    """Returns the business day of `at` (default now) in the one business time zone, AD_TIME_ZONE."""
    return timezone.localtime(at or timezone.now(), ZoneInfo(settings.AD_TIME_ZONE)).date()


def _keyed_hash(purpose: str, *parts: str) -> str:
    # HMAC-SHA256 under a key derived from SECRET_KEY and the purpose: a leaked reader key says
    # nothing about the rate-limit keys, and neither can be recomputed without the secret.
    value = "\x1f".join(part.encode("utf-8", "replace").decode("utf-8") for part in parts)
    return salted_hmac(f"contentlib.readers.{purpose}", value, algorithm="sha256").hexdigest()[:32]


def reader_key(request, *, at: dt.datetime | None = None) -> str:
    """Returns the reader key: a keyed hash of the truncated IP, the user agent and the ad day.

    It names one reader for one ad day without storing who they are; the next day it changes.
    Tracking and the activity log use it.
    """
    agent = request.META.get("HTTP_USER_AGENT", "")[:512]
    return _keyed_hash("reader", ip_truncate(client_ip(request)), agent, ad_day(at).isoformat())


def rate_limit_client(request) -> str:
    """Returns the key rate limits count a client under: a keyed hash of its address (an IPv6 client
    by its /64, which one household or phone holds whole). Never stored beyond the limit's window."""
    address = _address(client_ip(request))
    if address is not None and address.version == 6:
        network = str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    else:
        network = str(address or _UNKNOWN)
    return _keyed_hash("rate", network)
