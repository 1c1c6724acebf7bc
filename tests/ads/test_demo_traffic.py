"""`manage.py generate_traffic --section ads` (ads/demo_traffic.py): three weeks of sponsored views for
the running campaigns, written through the real tracking and billing code, with invalid clicks, a
credit, a refund and conversions; the reports agree with the ledger; a second run writes nothing."""
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command

from ads import reports
from ads.models import AuctionLog, Click, Conversion, DailyRollup, Impression, LedgerEntry
from tests.ads.tracking_helpers import make_campaign, placement

pytestmark = pytest.mark.django_db
UNTIL = dt.date(2026, 11, 30)
ANALYST = reports.Viewer(advertiser_id=None, analyst=True)


def test_demo_ad_traffic_has_shape_and_agrees_with_the_ledger(settings, capsys):
    settings.AD_PACING_INTERVAL_MINUTES = 15
    cache.clear()
    get_user_model().objects.create_superuser("demo-admin", "admin@example.com", "pw")
    placement()
    first = make_campaign(bid="1.50", daily="200.00", total="3000.00", balance="5000.00")
    make_campaign(bid="1.20", daily="200.00", total="3000.00", balance="5000.00")
    call_command("generate_traffic", "--section", "ads", "--until", UNTIL.isoformat())
    assert "Wrote ad traffic over 21 ad days" in capsys.readouterr().out
    days = set(Impression.objects.values_list("ad_day", flat=True))
    assert min(days) == UNTIL - dt.timedelta(days=20) and max(days) == UNTIL
    assert AuctionLog.objects.filter(filled=0).exists()
    reasons = set(Click.objects.values_list("reason", flat=True))
    assert {"", "bot", "too_fast", "ip_limit", "repeat"} <= reasons
    assert Conversion.objects.exists()
    assert LedgerEntry.objects.filter(kind="credit").count() == 1
    assert LedgerEntry.objects.filter(kind="refund", advertiser=first.advertiser).count() == 1
    assert set(DailyRollup.objects.values_list("ad_day", flat=True)) == days
    filters = reports.ReportFilters(date_from=min(days), date_to=max(days))
    report = reports.report_build(viewer=ANALYST, filters=filters)
    ledger = -sum((e.amount for e in LedgerEntry.objects.filter(kind__in=["charge", "credit"])), Decimal(0))
    assert report.totals["spend"] == ledger > 0
    assert report.totals["clicks_invalid"] > 0 and report.totals["conversions"] > 0
    assert all(row["difference"] == 0 for row in reports.reconciliation(viewer=ANALYST, filters=filters))
    # Some shape: more than one day with clicks, and not every day alike.
    clicks_by_day = [day["clicks_valid"] for day in report.daily]
    assert sum(1 for n in clicks_by_day if n) > 10 and len(set(clicks_by_day)) > 3
    impressions = Impression.objects.count()
    call_command("generate_traffic", "--section", "ads", "--until", UNTIL.isoformat())
    assert "Ad traffic not written" in capsys.readouterr().out
    assert Impression.objects.count() == impressions
