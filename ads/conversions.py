"""Conversions: what an advertiser's clicks led to, reported by the advertiser's page (an image pixel)
or its server (a postback), each naming the click id that the click redirect appended to the
landing URL.

    signature = hex HMAC-SHA256(advertiser's conversion secret, "<click id>.<goal>.<value>")

(`value` is the order value as sent, or empty.) A conversion is accepted once per click and goal,
only for a click of the advertiser that signed it, and only within AD_ATTRIBUTION_DAYS of the
click; it is attributed to the click's campaign, keyword and placement. Each client address may
report AD_CONVERSION_RATE_LIMIT conversions a minute.
"""
import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ads.models import BILLING_REASONS, Advertiser, Click, Conversion, ConversionSecret
from contentlib.errors import ApplicationError
from contentlib.ratelimit import rate_limit_hit

GOAL = re.compile(r"^[a-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Report:
    """What a pixel or postback reported, as received."""

    click_id: str
    signature: str
    goal: str = "conversion"
    value: str = ""


def secret_get(*, advertiser_id: int) -> str:
    """Returns the advertiser's conversion secret, made on first use."""
    found = ConversionSecret.objects.filter(advertiser_id=advertiser_id).values_list("secret", flat=True).first()
    if found:
        return found
    ConversionSecret.objects.get_or_create(advertiser_id=advertiser_id, defaults={"secret": secrets.token_hex(32)})
    return ConversionSecret.objects.get(advertiser_id=advertiser_id).secret


def secret_rotate(*, advertiser_id: int) -> str:
    """Replaces the advertiser's secret; pixels signed with the old one are refused from now on."""
    secret = secrets.token_hex(32)
    ConversionSecret.objects.update_or_create(advertiser_id=advertiser_id, defaults={"secret": secret})
    return secret


def sign(*, secret: str, click_id: str, goal: str = "conversion", value: str = "") -> str:
    """The signature an advertiser puts on a pixel or postback (also what its docs show it to compute)."""
    message = f"{click_id}.{goal}.{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _refuse(message: str, code: str, status: int) -> ApplicationError:
    return ApplicationError(message, {"code": code, "status": status})


def conversion_record(*, report: Report, client: str, source: str, at: dt.datetime | None = None) -> Conversion:
    """Records one conversion for a click, or raises ApplicationError with code rate_limited, invalid,
    unknown_click, forged, expired or duplicate (and the HTTP status to answer with)."""
    at = at or timezone.now()
    if not rate_limit_hit(scope="conversion", client=client, limit=settings.AD_CONVERSION_RATE_LIMIT).allowed:
        raise _refuse(_("Too many conversions from this address in the last minute. Send them more slowly, "
                        "or in one postback per conversion from your server."), "rate_limited", 429)
    goal = (report.goal or "conversion").strip().lower()
    if not GOAL.match(goal):
        raise _refuse(_("The goal must be 1 to 40 lowercase letters, digits, “-” or “_”, such as “purchase”."),
                      "invalid", 400)
    value = None
    if report.value:
        try:
            value = Decimal(report.value)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:
            raise _refuse(_("The value must be an amount such as 199.00 (CNY, at most two decimals), or left out."),
                          "invalid", 400)
    try:
        key = uuid.UUID(str(report.click_id))
    except ValueError:
        key = None
    click = (Click.objects.select_related("campaign").filter(id=key, campaign__isnull=False).first()
             if key is not None else None)
    if click is None:
        raise _refuse(_("No click has this click id. Send the “clid” parameter exactly as it arrived on your "
                        "landing page."), "unknown_click", 404)
    expected = sign(secret=secret_get(advertiser_id=click.campaign.advertiser_id), click_id=str(report.click_id),
                    goal=report.goal or "conversion", value=report.value)
    if not hmac.compare_digest(expected, (report.signature or "").strip().lower()):
        raise _refuse(_("The signature does not match. Sign “<click id>.<goal>.<value>” with HMAC-SHA256 and "
                        "your conversion secret from the portal's Reports page."), "forged", 403)
    if at - click.at > dt.timedelta(days=settings.AD_ATTRIBUTION_DAYS):
        raise _refuse(_("This click is older than %(days)s days, the attribution window, so the conversion is not "
                        "counted.") % {"days": settings.AD_ATTRIBUTION_DAYS}, "expired", 410)
    if at < click.at:
        raise _refuse(_("This conversion is dated before its click. Check your server's clock."), "invalid", 400)
    try:
        with transaction.atomic():
            return Conversion.objects.create(
                click=click, click_key=click.id, advertiser_id=click.campaign.advertiser_id,
                campaign_id=click.campaign_id, keyword_id=click.keyword_id, placement_id=click.placement_id,
                goal=goal, value=value, source=source, clicked_at=click.at,
                click_valid=not click.reason or click.reason in BILLING_REASONS, click_ad_day=click.ad_day, at=at)
    except IntegrityError:
        raise _refuse(_("This conversion was counted already (one per click and goal); nothing was done."),
                      "duplicate", 409) from None


def advertiser_for_secret(*, advertiser: Advertiser) -> dict:
    """What the portal shows an advertiser's owner to set up conversion tracking."""
    return {"secret": secret_get(advertiser_id=advertiser.id), "window_days": settings.AD_ATTRIBUTION_DAYS}
