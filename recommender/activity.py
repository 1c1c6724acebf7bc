"""The reader activity log: rows held per process and written in batches, and purged by age.

A page view must not wait for an INSERT, so `activity_record` only appends to this process's buffer;
the buffer is written with one `bulk_create` once it holds ACTIVITY_BATCH_SIZE rows or its oldest row
is ACTIVITY_FLUSH_SECONDS old (checked at the next record), and when the process exits. A process
that is killed loses at most one batch of rows: acceptable for recommendation signals, which is why
billing never reads this log.
"""
import atexit
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contentlib.readers import ad_day
from contentlib.text import normalize_query
from recommender.models import ReaderActivity

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_buffer: list[ReaderActivity] = []
_oldest: float | None = None
KINDS = set(ReaderActivity.Kind.values)


def activity_row(*, kind: str, reader_key: str, at: dt.datetime | None = None, placement: str = "",
                 query: str = "", article_id: int | None = None, question_id: int | None = None) -> ReaderActivity:
    """Returns an unsaved log row, its query normalized and its ad day set; refuses an unknown kind."""
    if kind not in KINDS:
        raise ValueError(f"Unknown activity kind {kind!r}: use one of {', '.join(sorted(KINDS))}.")
    at = at or timezone.now()
    return ReaderActivity(kind=kind, reader_key=reader_key[:64], at=at, ad_day=ad_day(at), placement=placement[:60],
                          query=normalize_query(query)[:500], article_id=article_id, question_id=question_id)


def activity_record(**fields) -> None:
    """Queues one row for the log (see `activity_row` for the fields); writes the batch when it is due."""
    global _oldest
    row = activity_row(**fields)
    with _lock:
        _buffer.append(row)
        _oldest = _oldest or time.monotonic()
        due = len(_buffer) >= settings.ACTIVITY_BATCH_SIZE or time.monotonic() - _oldest >= settings.ACTIVITY_FLUSH_SECONDS
    if due:
        activity_flush()


def activity_flush() -> int:
    """Writes what this process holds; returns how many rows. Safe to call at any time."""
    global _buffer, _oldest
    with _lock:
        rows, _buffer, _oldest = _buffer, [], None
    if not rows:
        return 0
    try:
        activities_write(rows)
    except Exception:  # noqa: BLE001 - a lost batch of signals must never break a reader's page
        logger.exception("reader activity: %d rows not written", len(rows))
        return 0
    return len(rows)


def activities_write(rows: Iterable[ReaderActivity], *, batch_size: int = 5000) -> int:
    """Writes rows to the log at once (the buffer, the traffic generator); returns how many."""
    rows = list(rows)
    with transaction.atomic():
        ReaderActivity.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)


def activity_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes log rows older than RAW_EVENT_RETENTION_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.RAW_EVENT_RETENTION_DAYS)
    deleted, _ = ReaderActivity.objects.filter(at__lt=cutoff).delete()
    return deleted


atexit.register(activity_flush)
