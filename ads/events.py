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
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import uuid6
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
    # For the redirect (ads.tracking.click_destination), read with the impression.
    advertiser_id: int | None = None
    campaign_name: str = ""
    campaign_pricing: str = ""
    article_published: bool = False


def impression_id_new() -> uuid.UUID:
    """Returns a new impression id: a version-7 UUID (RFC 9562), 48 bits of Unix milliseconds, then
    74 random bits. Impressions are inserted about in id order, so each row's primary-key entry
    lands on the B-tree's rightmost leaf, which stays in memory, rather than on a random one
    (docs/TRACKING.md, "What a served impression costs the database"). Tokens are signed, so that the
    id shows when it was made gives nothing away. From the `uuid6` package (Python 3.14's
    `uuid.uuid7`, for this 3.11): ids made in the same millisecond by one process still increase."""
    return uuid.UUID(int=uuid6.uuid7().int)


def impressions_serve(*, result: AuctionResult, placement: Placement, visitor: Visitor, now=None,
                      preview: bool = False) -> list[ServedImpression]:
    """Records one impression per slot of `result`, as served, with the visitor's invalid reason
    (a portal preview: "preview", never billed); returns them in slot order with their ids."""
    if not result.slots:
        return []
    now = now or timezone.now()
    reason = InvalidReason.PREVIEW if preview else (visitor.invalid_reason or "")
    common = {"auction_id": result.log_id, "placement_id": placement.id, "served_at": now,
              "ad_day": ad_day(now), "reader_key": visitor.reader_key[:64], "ip_prefix": visitor.ip_prefix[:45],
              "browser_family": visitor.browser_family[:60], "os_family": visitor.os_family[:60],
              "invalid_reason": reason}
    rows, served = [], []
    for slot in result.slots:
        impression_id = impression_id_new()
        rows.append({"id": impression_id, "campaign_id": slot.campaign_id, "keyword_id": slot.keyword_id,
                     "promotion_id": slot.promotion_id, "position": slot.position, "pricing": slot.pricing,
                     "price": slot.price})
        served.append(ServedImpression(
            impression_id, slot.position, slot.campaign_id, slot.advertiser_id, slot.advertiser_name,
            slot.promotion_id, slot.article_id, slot.title, slot.landing_url, slot.pricing, slot.price, now, reason,
            visitor.browser_family, visitor.os_family))
    buffer = _buffer()
    if buffer is None:
        Impression.objects.bulk_create([Impression(**{**_DEFAULTS, **common, **row}) for row in rows])
    else:
        buffer.rpush(BUFFER_KEY, *_copy_lines(common, rows))  # one RPUSH an auction
    return served


# --- The Redis buffer ----------------------------------------------------------------------------

_clients: dict = {}


def _buffer():
    """The Redis client of the impression buffer, or None when impressions are written directly."""
    url = settings.AD_EVENTS_REDIS_URL
    if not url:
        return None
    key = (url, os.getpid())  # a forked worker makes its own connection
    if key not in _clients:
        import redis  # noqa: PLC0415

        # One connection a process, held, not taken from a pool and given back on every command:
        # that costs serving more CPU than the RPUSH itself (docs/BENCHMARKS.md, "Tracking events").
        # redis-py serializes the threads of a process on it with a lock.
        _clients[key] = redis.Redis.from_url(url, socket_timeout=5, single_connection_client=True)
    return _clients[key]


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


def _copy_lines(common: dict, rows: list[dict]) -> list[bytes]:
    """The COPY lines of one auction's impressions: the columns' defaults and what the slots share
    (`common`) become text once; a slot's own values (`rows`: ids, numbers, a pricing code) hold no
    character to escape, so each is only str()."""
    shared = {**_default_text(), **{name: _copy_value(value) for name, value in common.items()}}
    lines = []
    for row in rows:
        line = {**shared, **{name: "\\N" if value is None else str(value) for name, value in row.items()}}
        lines.append(("\t".join([line[name] for name in BUFFERED]) + "\n").encode())
    return lines


@lru_cache(maxsize=1)
def _default_text() -> dict[str, str]:
    """The COPY text of the columns' defaults (the id's is always replaced)."""
    return {name: _copy_value(value) for name, value in _DEFAULTS.items()}


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


def _impression(impression_id) -> Impression | None:
    """The impression with its campaign and promotion: one query."""
    try:
        key = uuid.UUID(str(impression_id))
    except (TypeError, ValueError, AttributeError):
        return None
    found = (Impression.objects.select_related("campaign", "campaign__advertiser", "promotion", "promotion__article")
             .filter(id=key))
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


@dataclass(frozen=True)
class ClickTarget:
    """What a click needs of its impression, read in one query with its campaign, its promotion,
    whether its article is published and whether it has a click already."""

    id: uuid.UUID
    campaign_id: int
    keyword_id: int | None
    placement_id: int
    promotion_id: int
    pricing: str
    price: Decimal
    served_at: dt.datetime
    invalid_reason: str
    clicked: bool
    advertiser_id: int
    campaign_name: str
    campaign_pricing: str
    hours: list
    article_id: int
    article_published: bool
    landing_url: str


# The same read in one statement on PostgreSQL, without the ORM compiling it on every click.
_TARGET_SQL = """
SELECT i.id, i.campaign_id, i.keyword_id, i.placement_id, i.promotion_id, i.pricing, i.price, i.served_at,
       i.invalid_reason, EXISTS (SELECT 1 FROM ads_click k WHERE k.impression_id = i.id) AS clicked,
       c.advertiser_id, c.name, c.pricing, c.hours, p.article_id, a.status = %(approved)s, p.landing_url
FROM ads_impression i
JOIN ads_campaign c ON c.id = i.campaign_id
JOIN ads_promotion p ON p.id = i.promotion_id
JOIN contentlib_article a ON a.id = p.article_id
WHERE i.id = %(id)s
"""
_TARGET_FIELDS = ("id", "campaign_id", "keyword_id", "placement_id", "promotion_id", "pricing", "price", "served_at",
                  "invalid_reason", "clicked", "campaign__advertiser_id", "campaign__name", "campaign__pricing",
                  "campaign__hours", "promotion__article_id", "article_published", "promotion__landing_url")


def _target_read(key: uuid.UUID) -> ClickTarget | None:
    from contentlib.models import Article  # noqa: PLC0415

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_TARGET_SQL, {"id": key, "approved": Article.Status.APPROVED})
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        row[13] = Campaign._meta.get_field("hours").from_db_value(row[13], None, connection)
        return ClickTarget(*row)
    row = (Impression.objects.filter(id=key)
           .annotate(clicked=Exists(Click.objects.filter(impression_id=OuterRef("id"))),
                     article_published=Exists(Article.objects.filter(id=OuterRef("promotion__article_id"),
                                                                     status=Article.Status.APPROVED)))
           .values_list(*_TARGET_FIELDS).first())
    return ClickTarget(*row) if row is not None else None


def click_target(impression_id) -> ClickTarget | None:
    """The click's view of the impression with this id (flushing the buffer if it may wait there), or None."""
    try:
        key = uuid.UUID(str(impression_id))
    except (TypeError, ValueError, AttributeError):
        return None
    target = _target_read(key)
    if target is None and buffered_count():
        impressions_flush()  # it may be waiting in the buffer (served a moment ago)
        target = _target_read(key)
    return target


def _reason(impression: ClickTarget | None, visitor: Visitor, token_problem: str, at: dt.datetime) -> str:
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
    otherwise records it unbilled with the reason. A click on a CPM impression is recorded, not charged.
    On PostgreSQL a charged click is two round trips: the read of its impression, then one statement
    (ads.billing.cpc_charge)."""
    at = at or timezone.now()
    target = click_target(impression_id) if impression_id else None
    reason = _reason(target, visitor, token_problem, at)
    click = Click(id=uuid.uuid4(), impression_id=target.id if target else None, at=at, ad_day=ad_day(at),
                  reader_key=visitor.reader_key[:64], ip_prefix=visitor.ip_prefix[:45],
                  browser_family=visitor.browser_family[:60], os_family=visitor.os_family[:60])
    if target is not None:
        click.campaign_id, click.keyword_id, click.placement_id = target.campaign_id, target.keyword_id, \
            target.placement_id
    billed = False
    if reason or target.pricing != Campaign.Pricing.CPC:
        click.reason = reason
        click.save(force_insert=True)
    else:
        charge = billing.cpc_charge(click=click, target=target, at=at)
        billed, reason = charge.entry_id is not None, charge.reason
    if target is None:
        return ClickOutcome(click.id, billed, reason, click.amount, None, None, None)
    return ClickOutcome(click.id, billed, reason, click.amount, target.promotion_id, target.article_id,
                        target.campaign_id, target.landing_url, advertiser_id=target.advertiser_id,
                        campaign_name=target.campaign_name, campaign_pricing=target.campaign_pricing,
                        article_published=target.article_published)
