"""The reports page (GET /reports/ and /portal/reports/, charts and table included) over a year of
daily rollups: p50 and p95 per request, by kind of request, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/reports.py \
        [--campaigns 1000] [--keywords 50] [--days 365] [--requests 20] [--database bench_reports] [--keep]

A throw-away database (--database, bench_reports by default) is created on that server, migrated
and filled in SQL (generate_series) with one keyword rollup row per campaign × keyword × ad day
(one placement): 100 advertisers of 10 campaigns each by default, so 1000 × 50 × 365 = 18.25
million rows, and their campaign rollups (1000 × 365). Then each
kind of request is made `--requests` times through Django's test client, with filters varied
(another advertiser, campaign or month each time), and timed. The load average is printed: the
machine's two cores are shared. With --keep the database is kept, and a later run with --reuse
skips making the rows again (it migrates the kept database, so a new migration's backfill runs on it).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_database import drop_database, postgres_url, scratch_database  # noqa: E402


def _fill(connection, args, placement, first) -> None:
    """One rollup row per campaign × keyword × ad day, in SQL."""
    advertisers = max(1, args.campaigns // 10)
    with connection.cursor() as cursor:
        cursor.execute("""INSERT INTO ads_advertiser (name, status, credit_code, address, contact_name, phone, email,
                              balance, accrued, currency, refusal_reason, decided_by_name, created_at)
                          SELECT '基准公司' || a, 'active', '', '', '', '', '', 0, 0, 'CNY', '', '', now()
                          FROM generate_series(1, %s) a""", [advertisers])
        cursor.execute("""INSERT INTO ads_campaign (advertiser_id, name, pricing, max_bid, daily_budget, total_budget,
                              start_date, hours, languages, status, rejection_reason, spend_today, spend_total, accrued,
                              created_at, updated_at)
                          SELECT (SELECT min(id) FROM ads_advertiser) + (c - 1) %% %s, '基准推广 ' || c,
                                 CASE WHEN c %% 4 = 0 THEN 'cpm' ELSE 'cpc' END, 1.00, 100, 1000000, %s, '[]', '[]',
                                 'active', '', 0, 0, 0, now(), now()
                          FROM generate_series(1, %s) c""", [advertisers, first, args.campaigns])
        cursor.execute("""INSERT INTO ads_campaignkeyword (campaign_id, text, match_type, negative, review,
                              rejection_reason, archived, created_at)
                          SELECT c.id, '关键词' || k, 'phrase', false, 'approved', '', false, now()
                          FROM ads_campaign c CROSS JOIN generate_series(1, %s) k""", [args.keywords])
        cursor.execute("ALTER TABLE ads_dailyrollup SET UNLOGGED")
        columns = [f.column for f in __import__("ads.models", fromlist=["DailyRollup"]).DailyRollup._meta.fields
                   if f.column.startswith("clicks_") and f.column not in ("clicks_valid", "clicks_billed")]
        extra = ", ".join(columns)
        values = ", ".join("CASE WHEN (k.id + d) %% 17 = 0 THEN 1 ELSE 0 END" if c in ("clicks_bot", "clicks_ip_limit")
                           else "0" for c in columns)
        cursor.execute(f"""INSERT INTO ads_dailyrollup (campaign_id, keyword_id, placement_id, ad_day, served,
                               served_invalid, viewable, clicks_valid, clicks_billed, {extra}, spend, computed_at)
                           SELECT k.campaign_id, k.id, %s, %s::date + d, 20 + (k.id + d) %% 30, (k.id + d) %% 3,
                                  12 + (k.id + d) %% 15, (k.id * 7 + d) %% 4, (k.id * 7 + d) %% 4, {values},
                                  ((k.id * 7 + d) %% 4) * 1.23, now()
                           FROM ads_campaignkeyword k CROSS JOIN generate_series(0, %s) d""",
                       [placement.id, first, args.days - 1])
        cursor.execute("ALTER TABLE ads_dailyrollup SET LOGGED")
    from ads import rollups  # noqa: PLC0415

    rollups.campaign_rollups_rebuild()  # what the recompute writes with the keyword rollups
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")  # as autovacuum leaves the days no longer recomputed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--keywords", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", default="bench_reports", help="The throw-away database's name.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Use the database an earlier --keep run left.")
    args = parser.parse_args()
    url, reused = scratch_database(postgres_url("bench/reports.py"), args.database, reuse=args.reuse)
    os.environ.update({"DATABASE_URL": url, "LOCAL_SECRET_KEY": "1", "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
    os.environ.pop("CELERY_BROKER_URL", None)
    import django  # noqa: PLC0415

    django.setup()
    import datetime as dt  # noqa: PLC0415

    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.contrib.auth.models import Group  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import setup_test_environment  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from ads.models import AdvertiserUser, Placement  # noqa: PLC0415
    from contentlib.roles import ANALYSTS  # noqa: PLC0415

    console = Console(width=150)
    setup_test_environment()
    call_command("migrate", verbosity=0)
    placement = Placement.objects.get_or_create(slug="question")[0]
    last = dt.date(2026, 11, 30)
    first = last - dt.timedelta(days=args.days - 1)
    started = time.perf_counter()
    if not reused:
        _fill(connection, args, placement, first)
    with connection.cursor() as cursor:
        if reused:
            cursor.execute("VACUUM (ANALYZE)")  # the statistics of what the migrations just wrote
        cursor.execute("SELECT count(*) FROM ads_dailyrollup")
        rollups = cursor.fetchone()[0]
    load_seconds = time.perf_counter() - started
    User = get_user_model()
    analyst = User.objects.get_or_create(username="bench-analyst", defaults={"is_staff": True})[0]
    analyst.groups.add(Group.objects.get(name=ANALYSTS))
    from ads.models import Advertiser, Campaign  # noqa: PLC0415

    advertiser_ids = list(Advertiser.objects.order_by("id").values_list("id", flat=True))
    campaign_ids = list(Campaign.objects.order_by("id").values_list("id", flat=True))
    owners = []
    for n, advertiser_id in enumerate(advertiser_ids[:args.requests]):
        user, made = User.objects.get_or_create(username=f"bench-owner-{n}")
        if made:
            AdvertiserUser.objects.create(user=user, advertiser_id=advertiser_id, role="reporter")
        owners.append(user)

    def month(n: int) -> dict:
        end = last - dt.timedelta(days=30 * (n % 12))
        return {"date_from": (end - dt.timedelta(days=29)).isoformat(), "date_to": end.isoformat()}

    kinds = [
        ("analyst, one campaign, 30 days", lambda n: (analyst, "/reports/", {**month(n), "campaign": campaign_ids[n * 37 % len(campaign_ids)]})),
        ("analyst, one campaign, a year", lambda n: (analyst, "/reports/", {"date_from": first.isoformat(), "date_to": last.isoformat(), "campaign": campaign_ids[n * 41 % len(campaign_ids)]})),
        ("analyst, one advertiser, 30 days", lambda n: (analyst, "/reports/", {**month(n), "advertiser": advertiser_ids[n % len(advertiser_ids)]})),
        ("portal (one advertiser), 30 days", lambda n: (owners[n % len(owners)], "/portal/reports/", month(n))),
        ("portal (one advertiser), a year", lambda n: (owners[n % len(owners)], "/portal/reports/", {"date_from": first.isoformat(), "date_to": last.isoformat()})),
        ("analyst, everything, 30 days", lambda n: (analyst, "/reports/", month(n))),
    ]
    table = Table(title=f"Reports page, {rollups:,} rollup rows ({args.campaigns} campaigns × {args.keywords} keywords × "
                        f"{args.days} days; {'kept from an earlier run' if reused else f'made in {load_seconds:.0f} s'}; load {os.getloadavg()[0]:.1f})")
    for column in ("request", "n", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="right")
    client = Client()
    for name, make in kinds:
        times = []
        requests = args.requests if "everything" not in name else max(3, args.requests // 4)
        for n in range(requests):
            user, path, query = make(n)
            client.force_login(user)
            t0 = time.perf_counter()
            response = client.get(path, query)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        table.add_row(name, str(len(times)), f"{statistics.median(times):.0f}", f"{p95:.0f}", f"{times[-1]:.0f}")
        console.print(f"{name}: done")
    console.print(table)
    if not args.keep:
        connection.close()
        drop_database(url)


if __name__ == "__main__":
    main()
