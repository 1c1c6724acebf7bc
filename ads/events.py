"""Impressions, viewability and clicks, recorded once each with the reason they are not billed.

    auction ─▶ impressions_serve (one row per slot, id made here) ─▶ page
    beacon  ─▶ viewable_record   (once, ≥ AD_VIEWABLE_MIN_SECONDS after serving; CPM accrues)
    /c/<t>  ─▶ click_record      (once per click; the impression's first valid click is charged, CPC)

The request side (ads.traffic: who the visitor is and whether the traffic is valid; ads.tracking:
the signed tokens) hands in a `Visitor` and the token's problem, if any.

Served impressions, the bulk of the events, are written straight to the database, or, with
AD_EVENTS_REDIS_URL set, pushed to a Redis list and moved to PostgreSQL in batches by
`impressions_flush` (COPY into a temporary table, then INSERT ... ON CONFLICT (id) DO NOTHING, then
the batch trimmed from the list). At least once, and idempotent on the impression's id: a flusher
killed before its commit leaves the batch in Redis, one killed after it leaves rows that the next
flush inserts as nothing. A beacon or click for an impression still in the buffer flushes it first.
Clicks and beacons are written straight away: they move money (docs/BENCHMARKS.md, "Tracking events").
"""
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ads import billing
from ads.auction import AuctionResult
from ads.models import Campaign, Click, Impression, InvalidReason, Placement
from contentlib.readers import ad_day

logger = logging.getLogger(__name__)
BUFFER_KEY = "ads:impressions"
FLUSH_LOCK = "ads:impressions:flush"
# Every column of a buffered impression, in COPY order (the model's defaults are not the table's).
BUFFERED = tuple(f.attname for f in Impression._meta.concrete_fields)
_DEFAULTS = {f.attname: f.get_default() for f in Impression._meta.concrete_fields}


@dataclass(frozen=True)
class Visitor:
    """Who is looking, as ads.traffic read it from the request (never the full IP)."""

    reader_key: str  # contentlib.readers.reader_key(request)
    ip_prefix: str  # contentlib.readers.ip_truncate(client_ip(request))
    browser_family: str  # ua-parser
    os_family: str
    invalid_reason: str = ""  # "" = valid; else an InvalidReason code


@dataclass(frozen=True)
class ServedImpression:
    """One served slot: what the card shows and the impression id its tokens carry."""

    impression_id: uuid.UUID
    position: int
    campaign_id: int
    advertiser_id: int
    advertiser_name: str  # shown beside 广告 / Sponsored
    promotion_id: int
    article_id: int
    title: str
    landing_url: str  # the promotion's verified landing URL, or "" (the article's page here)
    pricing: str
    price: Decimal
    served_at: dt.datetime
    invalid_reason: str
    browser_family: str = ""
    os_family: str = ""


@dataclass(frozen=True)
class ClickOutcome:
    click_id: uuid.UUID
    billed: bool
    reason: str  # "" when billed (or a valid click on a CPM impression); else an InvalidReason code
    amount: Decimal
    promotion_id: int | None
    article_id: int | None
    campaign_id: int | None
    landing_url: str = ""


def impressions_serve(*, result: AuctionResult, placement: Placement, visitor: Visitor, now=None,
                      preview: bool = False) -> list[ServedImpression]:
    """Records one impression per slot of `result`, as served, with the visitor's invalid reason
    (a portal preview: "preview", never billed); returns them in slot order with their ids."""
    if not result.slots:
        return []
    now = now or timezone.now()
    reason = InvalidReason.PREVIEW if preview else (visitor.invalid_reason or "")
    common = {**_DEFAULTS, "auction_id": result.log_id, "placement_id": placement.id, "served_at": now,
              "ad_day": ad_day(now), "reader_key": visitor.reader_key[:64], "ip_prefix": visitor.ip_prefix[:45],
              "browser_family": visitor.browser_family[:60], "os_family": visitor.os_family[:60],
              "invalid_reason": reason}
    rows, served = [], []
    for slot in result.slots:
        impression_id = uuid.uuid4()
        rows.append({**common, "id": impression_id, "campaign_id": slot.campaign_id, "keyword_id": slot.keyword_id,
                     "promotion_id": slot.promotion_id, "position": slot.position, "pricing": slot.pricing,
                     "price": slot.price})
        served.append(ServedImpression(
            impression_id, slot.position, slot.campaign_id, slot.advertiser_id, slot.advertiser_name,
            slot.promotion_id, slot.article_id, slot.title, slot.landing_url, slot.pricing, slot.price, now, reason,
            visitor.browser_family, visitor.os_family))
    buffer = _buffer()
    if buffer is None:
        Impression.objects.bulk_create([Impression(**row) for row in rows])
    else:
        buffer.rpush(BUFFER_KEY, *[_copy_line(row) for row in rows])
    return served


# --- The Redis buffer ----------------------------------------------------------------------------

_clients: dict = {}


def _buffer():
    """The Redis client of the impression buffer, or None when impressions are written directly."""
    url = settings.AD_EVENTS_REDIS_URL
    if not url:
        return None
    if url not in _clients:
        import redis  # noqa: PLC0415

        _clients[url] = redis.Redis.from_url(url, socket_timeout=5)
    return _clients[url]


# A buffered impression is one line of COPY's text format, so that a flush hands a batch to
# PostgreSQL as it is, without parsing it: columns by tab, NULL as \N, \\ \t \n escaped.
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(_ESCAPE)


def _copy_line(row: dict) -> bytes:
    return ("\t".join(_copy_value(row[name]) for name in BUFFERED) + "\n").encode()


_UNESCAPE = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def _parse_line(line: bytes) -> dict:
    """A COPY line back into column values (for databases other than PostgreSQL, which reads it itself)."""
    import re  # noqa: PLC0415

    values = []
    for text in line.decode().rstrip("\n").split("\t"):
        values.append(None if text == "\\N" else re.sub(r"\\[\\tnr]", lambda m: _UNESCAPE[m.group(0)], text))
    return dict(zip(BUFFERED, values, strict=True))


def buffered_count() -> int:
    """Impressions waiting in the buffer."""
    buffer = _buffer()
    return buffer.llen(BUFFER_KEY) if buffer is not None else 0


def impressions_flush(*, batch: int | None = None) -> int:
    """Moves buffered impressions into the database, a batch per transaction; returns how many rows
    were taken from the buffer. One flusher at a time (a Redis lock that expires, should one die)."""
    buffer = _buffer()
    if buffer is None:
        return 0
    batch = batch or settings.AD_EVENTS_FLUSH_BATCH
    moved = 0
    with buffer.lock(FLUSH_LOCK, timeout=settings.AD_EVENTS_FLUSH_LOCK_SECONDS,
                     blocking_timeout=settings.AD_EVENTS_FLUSH_LOCK_SECONDS + 5):
        while True:
            raw = buffer.lrange(BUFFER_KEY, 0, batch - 1)
            if not raw:
                return moved
            with transaction.atomic():
                _insert(raw)
            # Only now, after the commit: a flusher killed between the two leaves rows that the
            # next flush inserts again as nothing (ON CONFLICT DO NOTHING on the impression's id).
            buffer.ltrim(BUFFER_KEY, len(raw), -1)
            moved += len(raw)


def _insert(lines: list[bytes]) -> None:
    if connection.vendor != "postgresql":
        objects = [Impression(**_parse_line(line)) for line in lines]
        Impression.objects.bulk_create(objects, ignore_conflicts=True)
        return
    table = Impression._meta.db_table
    columns = ", ".join(BUFFERED)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}_in (LIKE {table} INCLUDING DEFAULTS) "
                       "ON COMMIT DELETE ROWS")
        with cursor.copy(f"COPY {table}_in ({columns}) FROM STDIN") as copy:
            copy.write(b"".join(lines))
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_in ON CONFLICT (id) DO NOTHING")


def _served(impression: Impression) -> ServedImpression:
    campaign, promotion = impression.campaign, impression.promotion
    return ServedImpression(
        impression.id, impression.position, campaign.id, campaign.advertiser_id, campaign.advertiser.name,
        promotion.id, promotion.article_id, promotion.headline or promotion.article.title, promotion.landing_url,
        impression.pricing, impression.price, impression.served_at, impression.invalid_reason,
        impression.browser_family, impression.os_family)


def _impression(impression_id, *, with_clicks: bool = False) -> Impression | None:
    """The impression, with `clicked` (has it a click already?) when `with_clicks`: one query."""
    try:
        key = uuid.UUID(str(impression_id))
    except (TypeError, ValueError, AttributeError):
        return None
    found = (Impression.objects.select_related("campaign", "campaign__advertiser", "promotion", "promotion__article")
             .filter(id=key))
    if with_clicks:
        found = found.annotate(clicked=Exists(Click.objects.filter(impression_id=OuterRef("id"))))
    impression = found.first()
    if impression is None and buffered_count():
        impressions_flush()  # it may be waiting in the buffer (served a moment ago)
        impression = found.first()
    return impression


def impression_served(impression_id) -> ServedImpression | None:
    """The served impression with this id, or None when none was recorded."""
    impression = _impression(impression_id)
    return _served(impression) if impression is not None else None


def viewable_record(*, impression_id, at=None) -> str:
    """Marks a served impression viewable, once: "accepted" (a CPM price accrues, budgets allowing),
    "unknown", "duplicate", "too_early" (sooner than AD_VIEWABLE_MIN_SECONDS after serving) or
    "invalid" (marked viewable, never billed: its traffic was invalid)."""
    at = at or timezone.now()
    impression = _impression(impression_id)
    if impression is None:
        return "unknown"
    if impression.viewable_at is not None:
        return "duplicate"
    if at - impression.served_at < dt.timedelta(seconds=settings.AD_VIEWABLE_MIN_SECONDS):
        return "too_early"
    with transaction.atomic():
        # Conditional: of two beacons at once, one marks it and the other is a duplicate.
        if not Impression.objects.filter(id=impression.id, viewable_at__isnull=True).update(viewable_at=at):
            return "duplicate"
        if impression.invalid_reason:
            return "invalid"
        if impression.pricing == Campaign.Pricing.CPM:
            billing.cpm_accrue(impression=impression, at=at)
    if impression.pricing == Campaign.Pricing.CPM:
        billing.statuses_update(campaign_id=impression.campaign_id, at=at)
    return "accepted"


def _reason(impression: Impression | None, visitor: Visitor, token_problem: str, at: dt.datetime) -> str:
    if token_problem:
        return token_problem
    if impression is None:
        return InvalidReason.NOT_SERVED
    if impression.invalid_reason:
        return impression.invalid_reason  # a preview, a bot's or staff's impression: its clicks are too
    if visitor.invalid_reason:
        return visitor.invalid_reason
    if at < impression.served_at:
        return InvalidReason.NOT_SERVED
    if impression.clicked:
        return InvalidReason.REPEAT
    return ""


def click_record(*, impression_id, visitor: Visitor, token_problem: str = "", at=None) -> ClickOutcome:
    """Records one click, and charges it (CPC) when the token was fine, the impression served, the
    visitor valid, it is the impression's first click and the budgets, balance and pacing allow;
    otherwise records it unbilled with the reason. A click on a CPM impression is recorded, not charged."""
    at = at or timezone.now()
    impression = _impression(impression_id, with_clicks=True) if impression_id else None
    reason = _reason(impression, visitor, token_problem, at)
    click = Click(id=uuid.uuid4(), impression=impression, at=at, ad_day=ad_day(at),
                  reader_key=visitor.reader_key[:64], ip_prefix=visitor.ip_prefix[:45],
                  browser_family=visitor.browser_family[:60], os_family=visitor.os_family[:60])
    if impression is not None:
        click.campaign_id, click.keyword_id, click.placement_id = (impression.campaign_id, impression.keyword_id,
                                                                   impression.placement_id)
    billed = False
    if reason or impression.pricing != Campaign.Pricing.CPC:
        click.reason = reason
        click.save(force_insert=True)
    else:
        charge = billing.cpc_charge(click=click, impression=impression, at=at)
        billed, reason = charge.entry is not None, charge.reason
    served = _served(impression) if impression is not None else None
    return ClickOutcome(click.id, billed, reason, click.amount, served.promotion_id if served else None,
                        served.article_id if served else None, served.campaign_id if served else None,
                        served.landing_url if served else "")
