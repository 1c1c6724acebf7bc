"""Widget placements: which host site a request to the recommendations API comes from (its Origin,
else its Referer), and whether that widget Placement lets the host embed it (its allowed_domains:
example.com also allows its subdomains). Attribution, not a fraud defence: ads.traffic judges the
traffic itself."""
from urllib.parse import urlsplit

from ads.models import Placement


def request_origin(request) -> str:
    """The page's origin (scheme://host[:port]) from the Origin header, else from the Referer; ""."""
    for header in ("HTTP_ORIGIN", "HTTP_REFERER"):
        try:
            parts = urlsplit(request.META.get(header, "") or "")
            hostname = parts.hostname
        except ValueError:  # not a URL ("https://[::1"): names no origin
            continue
        if parts.scheme in ("http", "https") and hostname:
            return f"{parts.scheme}://{parts.netloc}"
    return ""


def host_allowed(host: str, allowed_domains) -> bool:
    """Whether `host` is one of the domains, or a subdomain of one."""
    host = (host or "").lower().rstrip(".")
    for domain in allowed_domains or []:
        domain = str(domain).lower().strip().rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def widget_placement_get(*, slug: str) -> Placement | None:
    """The active widget placement called `slug`, or None."""
    return Placement.objects.filter(slug=slug, kind=Placement.Kind.WIDGET, active=True).first()


def widget_origin_allowed(*, placement: Placement, origin: str) -> bool:
    return bool(origin) and host_allowed(urlsplit(origin).hostname or "", placement.allowed_domains)
