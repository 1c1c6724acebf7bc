"""The raw click log export (ads.exports.click_log: COPY (SELECT … joins …) TO STDOUT, streamed)
against `COPY ads_click TO STDOUT` alone, in the same run, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/export.py [--rows 1000000] \
        [--database bench_export]

A throw-away database (--database, bench_export by default) is created on that server, migrated,
and filled with `--rows` clicks in SQL (generate_series) over 20 campaigns × 5 keywords × 2
placements, a fifth of them invalid; then each export is read to the end once (its bytes counted
and dropped, as a download would send them) and timed. Peak memory: the process's peak RSS
(getrusage ru_maxrss, the kernel's high-water mark for the whole process) after django.setup(),
and before and after each export; and tracemalloc's peak of Python allocations during it. The load
average is printed: the machine's two cores are shared.
"""
import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_database import drop_database, postgres_url, scratch_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_export", help="The throw-away database's name.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    args = parser.parse_args()
    url, _reused = scratch_database(postgres_url("bench/export.py"), args.database)
    os.environ.update({"DATABASE_URL": url, "LOCAL_SECRET_KEY": "1", "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
    os.environ.pop("CELERY_BROKER_URL", None)
    import django  # noqa: PLC0415

    django.setup()
    setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # what the project's imports cost
    import datetime as dt  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from ads import exports, reports  # noqa: PLC0415
    from ads.models import Advertiser, Campaign, CampaignKeyword, Placement  # noqa: PLC0415

    console = Console(width=170)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    advertiser = Advertiser.objects.create(name="基准测试公司")
    campaigns = [Campaign.objects.create(advertiser=advertiser, name=f"基准推广 {n}", max_bid=Decimal("1.00"),
                                         daily_budget=Decimal("100"), total_budget=Decimal("1000"),
                                         start_date=dt.date(2026, 1, 1)) for n in range(20)]
    keywords = [CampaignKeyword.objects.create(campaign=c, text=f"冷库设计{n}") for c in campaigns for n in range(5)]
    placements = [Placement.objects.get_or_create(slug=slug)[0] for slug in ("question", "search")]  # migrations make both
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE kw AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, campaign_id "
                       "FROM ads_campaignkeyword")
        cursor.execute("""
            INSERT INTO ads_click (id, campaign_id, keyword_id, placement_id, at, ad_day, reader_key, ip_prefix,
                                   browser_family, os_family, reason, billed, amount)
            SELECT gen_random_uuid(), kw.campaign_id, kw.id, %s + (g %% 2), ts, (ts AT TIME ZONE 'Asia/Shanghai')::date,
                   md5(g::text), '203.0.113.0', 'Chrome', 'Windows',
                   CASE WHEN g %% 5 = 0 THEN 'bot' ELSE '' END, g %% 5 <> 0,
                   CASE WHEN g %% 5 = 0 THEN 0 ELSE 1.2300 END
            FROM generate_series(1, %s) AS g
            JOIN kw ON kw.n = g %% %s
            CROSS JOIN LATERAL (SELECT timestamptz '2026-09-01 00:00:00+00' + (g * interval '7 seconds') AS ts) t
        """, [placements[0].id, args.rows, len(keywords)])
        cursor.execute("ANALYZE ads_click")
    load_seconds = time.perf_counter() - started
    viewer = reports.Viewer(advertiser_id=None, analyst=True)
    filters = reports.ReportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2027, 12, 31))

    def copy_alone() -> tuple[int, int]:
        # As little as possible per row: libpq hands over about a row at a time; only its size is added.
        size = 0
        with connection.cursor() as cursor, cursor.cursor.copy("COPY ads_click TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                size += len(chunk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ads_click")
            return cursor.fetchone()[0], size

    def click_log() -> tuple[int, int]:
        size = rows = 0
        for n, chunk in enumerate(exports.click_log(viewer=viewer, filters=filters)):
            size += len(chunk)
            rows += chunk.count(b"\n")
        return rows - 1, size  # less the header

    results = []
    for name, run in (("COPY ads_click TO STDOUT (alone)", copy_alone), ("click log export (COPY of the joined select)", click_log)):
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        t0 = time.perf_counter()
        rows, size = run()
        seconds = time.perf_counter() - t0
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.append((name, rows, size, seconds, peak / 2**20, rss_before, rss_after))
    table = Table(title=f"Click log export, {args.rows:,} clicks (load {os.getloadavg()[0]:.1f}, data made in {load_seconds:.0f} s; "
                        f"peak RSS after django.setup() {setup_rss:.0f} MB)")
    for column in ("", "rows", "MB", "s", "rows/s", "% of COPY", "Python peak MB", "peak RSS MB before → after"):
        table.add_column(column, justify="right")
    base = results[0][1] / results[0][3]
    for name, rows, size, seconds, peak, before, after in results:
        rate = rows / seconds
        table.add_row(name, f"{rows:,}", f"{size / 2**20:.0f}", f"{seconds:.2f}", f"{rate:,.0f}", f"{100 * rate / base:.0f}%",
                      f"{peak:.1f}", f"{before:.0f} → {after:.0f}")
    console.print(table)
    if not args.keep:
        connection.close()
        drop_database(url)


if __name__ == "__main__":
    main()
