"""The signed tokens of the sponsored block: a card's click link (/c/<token>) and its viewability
beacon (/v/<token>).

Both are `django.core.signing` tokens under salts of their own (a beacon token is no click token,
and neither is any other signed value of the site), made when the impression is served and expiring
AD_CLICK_TOKEN_SECONDS (2 hours) later. A click token carries the impression id, when it was served
and the browser and OS families it was served to, so that the click's checks (too fast, another
browser) need no read and cannot be forged. Nothing here decides whether a click is billed: a token
problem is a reason handed to `ads.events.click_record`, which never bills one.
"""
import base64
import datetime as dt
import json
import uuid
import zlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.utils import timezone

from ads.traffic import Agent

CLICK_SALT = "ads.tracking.click"
BEACON_SALT = "ads.tracking.beacon"
# The codes of ads.models.InvalidReason for a token that cannot be used.
TOKEN_TAMPERED, TOKEN_EXPIRED = "token_tampered", "token_expired"


@dataclass(frozen=True)
class ClickClaim:
    """What a click token says. `problem` is "" for a good token, else a reason code; an expired
    token still names its impression, and a tampered one the impression it seems to name (only
    ever used to send the reader to that impression's article page, read from the database)."""

    impression_id: uuid.UUID | None
    served_at: dt.datetime | None
    agent: Agent
    problem: str = ""


def click_token(*, impression_id: uuid.UUID, served_at: dt.datetime, agent: Agent) -> str:
    """Returns the signed token of a card's click link for the impression served at `served_at`."""
    payload = {"i": uuid.UUID(str(impression_id)).hex, "t": round(served_at.timestamp(), 3),
               "b": agent.browser_family, "o": agent.os_family}
    return signing.dumps(payload, salt=CLICK_SALT, compress=True)


def _claim(payload, problem: str) -> ClickClaim:
    try:
        impression_id = uuid.UUID(hex=str(payload["i"]))
        served_at = dt.datetime.fromtimestamp(float(payload["t"]), tz=dt.timezone.utc)
        agent = Agent(str(payload.get("b", "")), str(payload.get("o", "")))
    except (TypeError, KeyError, ValueError, OverflowError):
        return ClickClaim(None, None, Agent("", ""), problem or TOKEN_TAMPERED)
    return ClickClaim(impression_id, served_at, agent, problem)


def click_token_read(token: str, *, now: dt.datetime | None = None) -> ClickClaim:
    """Returns what the click token says, with its problem: "" (good), token_expired or token_tampered."""
    now = now or timezone.now()
    try:
        payload = signing.loads(token, salt=CLICK_SALT, max_age=dt.timedelta(seconds=settings.AD_CLICK_TOKEN_SECONDS))
    except signing.SignatureExpired:
        return _claim(signing.loads(token, salt=CLICK_SALT), TOKEN_EXPIRED)
    except signing.BadSignature:
        return _claim(_payload_of(token) or {}, TOKEN_TAMPERED)
    claim = _claim(payload, "")
    # A token from the future was not made by this site's clock: the signer would not catch it.
    if claim.served_at is not None and claim.served_at > now + dt.timedelta(minutes=5):
        return ClickClaim(claim.impression_id, claim.served_at, claim.agent, TOKEN_TAMPERED)
    return claim


def _payload_of(token: str):
    """The JSON payload of a signed token, read without checking its signature (or None)."""
    body = (token or "").split(":", 1)[0]
    compressed = body.startswith(".")
    try:
        data = base64.urlsafe_b64decode(body.lstrip(".") + "=" * (-len(body.lstrip(".")) % 4))
        if compressed:
            data = zlib.decompressobj().decompress(data, 10_000)
        value = json.loads(data.decode("utf-8"))
    except (ValueError, zlib.error, UnicodeDecodeError, RecursionError):  # RecursionError: a forged payload nested deep
        return None
    return value if isinstance(value, dict) else None


def beacon_token(*, impression_id: uuid.UUID) -> str:
    """Returns the signed token of the impression's viewability beacon."""
    return signing.dumps(uuid.UUID(str(impression_id)).hex, salt=BEACON_SALT)


def beacon_token_read(token: str) -> tuple[uuid.UUID | None, str]:
    """Returns (impression id, problem) for a beacon token; the problem is "", token_expired or token_tampered."""
    try:
        value = signing.loads(token, salt=BEACON_SALT, max_age=dt.timedelta(seconds=settings.AD_CLICK_TOKEN_SECONDS))
    except signing.SignatureExpired:
        return None, TOKEN_EXPIRED
    except signing.BadSignature:
        return None, TOKEN_TAMPERED
    try:
        return uuid.UUID(hex=str(value)), ""
    except ValueError:
        return None, TOKEN_TAMPERED


def click_destination(*, outcome, token_problem: str) -> str:
    """Where a click sends the reader, never a URL from the request: the promotion's landing URL
    while it is on a domain the advertiser verified (with the click id and UTM parameters the URL
    does not set itself), else the sponsored article's page here, else the home page. A token with
    a problem always goes to the article's page."""
    from django.urls import reverse  # noqa: PLC0415

    from ads.services import _on_verified_domain  # noqa: PLC0415

    # The campaign and the article's status were read with the impression (ads.events.click_target).
    if not token_problem and outcome.landing_url and outcome.campaign_id \
            and _on_verified_domain(outcome.advertiser_id, outcome.landing_url):
        return landing_url_with(outcome.landing_url, {
            "utm_source": settings.AD_UTM_SOURCE, "utm_medium": outcome.campaign_pricing,
            "utm_campaign": outcome.campaign_name, "utm_content": f"promotion-{outcome.promotion_id}",
            settings.AD_CLICK_ID_PARAM: uuid.UUID(str(outcome.click_id)).hex})
    if outcome.article_id and outcome.article_published:
        return reverse("site:article_detail", args=[outcome.article_id])
    return reverse("site:home")


def landing_url_with(url: str, parameters: dict[str, str]) -> str:
    """`url` with `parameters` appended, leaving any parameter it already sets as it is."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    query += [(name, value) for name, value in parameters.items() if name not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
