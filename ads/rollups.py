"""Daily rollups (campaign × keyword × placement × ad day), recomputed from the raw impressions and
clicks by an idempotent task while those are kept (RAW_EVENT_RETENTION_DAYS), frozen after; and the
campaign rollups (campaign × placement × ad day), the same rows summed over their keywords, written
in the same transaction, which the reports' totals, charts and campaign table read.

Credited events leave the billed figures (billed clicks, spend) and are counted apart, so that a
day's rollups agree with its ledger entries: charges less credits.
"""
import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ads.models import BILLING_REASONS, CampaignDailyRollup, Click, DailyRollup, Impression, InvalidReason, RollupFigures
from contentlib.errors import ApplicationError
from contentlib.readers import ad_day

logger = logging.getLogger(__name__)
FINE = Decimal("0.0001")


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(FINE)  # SQLite sums decimals as floats


def frozen_before(*, now: dt.datetime | None = None) -> dt.date:
    """The first ad day still inside the raw-event retention: rollups of earlier days are frozen."""
    return ad_day(now) - dt.timedelta(days=settings.RAW_EVENT_RETENTION_DAYS)


def rollups_recompute(*, day: dt.date, now: dt.datetime | None = None) -> int:
    """Rebuilds the rollups of ad day `day` from its raw events; returns how many rows it holds.
    The same events give the same rows however often it runs. A day before the retention period is
    frozen: its raw events may be gone, so it is refused (ApplicationError, code "frozen")."""
    if day < frozen_before(now=now):
        raise ApplicationError(_("The rollups of %(day)s are frozen: its raw events are past the %(days)d days they are "
                                 "kept. Nothing was recomputed.") % {"day": day,
                                                                     "days": settings.RAW_EVENT_RETENTION_DAYS},
                               {"code": "frozen"})
    rows: dict[tuple, dict] = defaultdict(lambda: {"spend": Decimal(0)})
    valid, invalid = Q(invalid_reason=""), ~Q(invalid_reason="")
    for group in (Impression.objects.filter(ad_day=day).order_by()
                  .values("campaign_id", "keyword_id", "placement_id")
                  .annotate(served=Count("id", filter=valid), served_invalid=Count("id", filter=invalid),
                            viewable=Count("id", filter=valid & Q(viewable_at__isnull=False)),
                            spend=Sum("cost", filter=Q(credited_at__isnull=True)),
                            credited=Count("id", filter=Q(credited_at__isnull=False, cost__gt=0)))):
        row = rows[(group["campaign_id"], group["keyword_id"], group["placement_id"])]
        row.update(served=group["served"], served_invalid=group["served_invalid"], viewable=group["viewable"])
        row["spend"] += _money(group["spend"])
        row["clicks_credited"] = row.get("clicks_credited", 0) + group["credited"]
    for group in (Click.objects.filter(ad_day=day, campaign__isnull=False).order_by()
                  .values("campaign_id", "keyword_id", "placement_id", "reason", "billed")
                  .annotate(n=Count("id", filter=Q(credited_at__isnull=True)),
                            credited=Count("id", filter=Q(credited_at__isnull=False)),
                            amount=Sum("amount", filter=Q(credited_at__isnull=True)))):
        row = rows[(group["campaign_id"], group["keyword_id"], group["placement_id"])]
        n, reason = group["n"], group["reason"]
        row["clicks_credited"] = row.get("clicks_credited", 0) + group["credited"]
        if group["billed"]:
            row["clicks_billed"] = row.get("clicks_billed", 0) + n
            row["spend"] += _money(group["amount"])
        if not reason or reason in BILLING_REASONS:
            row["clicks_valid"] = row.get("clicks_valid", 0) + n
        if reason:
            row[f"clicks_{reason}"] = row.get(f"clicks_{reason}", 0) + n
    computed_at = timezone.now()
    objects = [DailyRollup(campaign_id=c, keyword_id=k, placement_id=p, ad_day=day, computed_at=computed_at, **values)
               for (c, k, p), values in rows.items()]
    campaigns: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for (c, _k, p), values in rows.items():
        summed = campaigns[(c, p)]
        for name, value in values.items():
            summed[name] += value
    campaign_objects = [CampaignDailyRollup(campaign_id=c, placement_id=p, ad_day=day, computed_at=computed_at,
                                            **values) for (c, p), values in campaigns.items()]
    with transaction.atomic():
        DailyRollup.objects.filter(ad_day=day).delete()
        DailyRollup.objects.bulk_create(objects)
        CampaignDailyRollup.objects.filter(ad_day=day).delete()
        CampaignDailyRollup.objects.bulk_create(campaign_objects)
    return len(objects)


FIGURES = tuple(f.column for f in RollupFigures._meta.fields if f.column != "computed_at")


def campaign_rollups_sql(figures=FIGURES) -> str:
    """The SQL that rewrites every campaign rollup as the sum of its keyword rollups (the migration
    that made the table, and bench/reports.py, which writes keyword rollups in SQL)."""
    columns = ", ".join(figures)
    sums = ", ".join(f"SUM({name})" for name in figures)
    return (f"DELETE FROM ads_campaigndailyrollup; "
            f"INSERT INTO ads_campaigndailyrollup (campaign_id, placement_id, ad_day, {columns}, computed_at) "
            f"SELECT campaign_id, placement_id, ad_day, {sums}, MAX(computed_at) FROM ads_dailyrollup "
            f"GROUP BY campaign_id, placement_id, ad_day")


def campaign_rollups_rebuild() -> None:
    """Rewrites every campaign rollup from the keyword rollups, in one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in campaign_rollups_sql().split("; "):
            cursor.execute(statement)


def rollups_recent(*, now: dt.datetime | None = None) -> int:
    """Recomputes today's and yesterday's rollups (beat, hourly): late beacons and credits land there."""
    today = ad_day(now)
    return sum(rollups_recompute(day=today - dt.timedelta(days=back), now=now) for back in (1, 0))


assert {f"clicks_{r}" for r in InvalidReason.values} <= {f.name for f in DailyRollup._meta.fields}
