"""The whole site's fill rate (ads.reports.fill_rate) over a populated auction log: the plan and the
work PostgreSQL does for it, with and without the day index, alternating in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/fill_rate.py \
        [--rows 500000] [--days 365] [--rounds 5] [--database bench_fill_rate] [--keep] [--reuse]

A throw-away database (--database) is created on that server, migrated, and filled in SQL
(generate_series) with `--rows` AuctionLog rows spread evenly over `--days` ad days and
the site's placements (the migrations make them), in insertion order (day by day, as the auction writes them), each row
about as wide as the auction's (a normalized question, two winners, a few losers), 55% of
them filled; then VACUUM (ANALYZE). Each round runs EXPLAIN (ANALYZE, BUFFERS) of the query
`fill_rate` sends, captured from the ORM, for the last 30 days of the whole site and of one
placement: once as migrated, and once inside a transaction that drops the day index first and is
rolled back ("without"). Buffers (8 kB pages touched) and rows read do not depend on the machine's
load; the milliseconds do (the load average is printed).
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_database import drop_database, postgres_url, scratch_database  # noqa: E402

DAY_INDEX = "auctionlog_day"




def _fill(cursor, args, first) -> None:
    cursor.execute("SELECT array_agg(id ORDER BY id) FROM ads_placement")
    placements = cursor.fetchone()[0]
    import json  # noqa: PLC0415

    winners = json.dumps([{"slot": slot, "campaign": 1234, "advertiser": 56, "article": 7890, "keyword": "冷库设计",
                           "pricing": "cpc", "bid": "1.20", "price": "0.85", "score": 0.01234567, "relevance": 0.8123}
                          for slot in (1, 2)], ensure_ascii=False)
    losers = json.dumps({"floor": [[11, 0.12], [12, 0.08], [13, 0.05]], "budget": [14, 15], "reserve": [16]})
    cursor.execute("""
        INSERT INTO ads_auctionlog (placement_id, question_text, language, reader_key, ad_day, filled, candidates,
                                    winners, losers, floor, duration_ms, created_at)
        SELECT (%(placements)s::int[])[1 + n %% array_length(%(placements)s::int[], 1)],
               '冷库设计施工方案需要注意哪些问题 ' || (n %% 5000), 'zh', md5(n::text), d,
               CASE WHEN n::bigint * 7919 %% 100 < 55 THEN 2 ELSE 0 END, 12,
               CASE WHEN n::bigint * 7919 %% 100 < 55 THEN %(winners)s::jsonb ELSE '[]'::jsonb END, %(losers)s::jsonb,
               0.31, 4.2, (d + interval '8 hours')::timestamptz
        FROM generate_series(0, %(rows)s - 1) n,
             LATERAL (SELECT %(first)s::date + (n::bigint * %(days)s / %(rows)s)::int AS d) day""",
                   {"placements": placements, "rows": args.rows, "days": args.days, "first": first,
                    "winners": winners, "losers": losers})
    cursor.execute("VACUUM (ANALYZE) ads_auctionlog")


def _explain(cursor, sql: str, *, without: bool) -> dict:
    if without:
        cursor.execute("BEGIN")
        cursor.execute(f"DROP INDEX IF EXISTS {DAY_INDEX}")
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
    plan = cursor.fetchone()[0][0]
    if without:
        cursor.execute("ROLLBACK")
    nodes, stack = [], [plan["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    scans = [n for n in nodes if "Scan" in n["Node Type"]]
    top = plan["Plan"]
    return {"scan": ", ".join(sorted({n["Node Type"] + (f" ({n['Index Name']})" if "Index Name" in n else "")
                                      for n in scans})),
            # Rows the scans looked at: what the leaf scans returned, and what any scan then filtered out.
            "rows": sum((n.get("Actual Rows", 0) * ("Plans" not in n) + n.get("Rows Removed by Filter", 0)
                         + n.get("Rows Removed by Index Recheck", 0)) * n.get("Actual Loops", 1) for n in scans),
            "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
            "heap_fetches": sum(n.get("Heap Fetches", 0) for n in scans),
            "ms": plan["Execution Time"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="bench_fill_rate", help="The throw-away database's name.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Use the database an earlier --keep run left.")
    args = parser.parse_args()
    url, reused = scratch_database(postgres_url("bench/fill_rate.py"), args.database, reuse=args.reuse)
    os.environ.update({"DATABASE_URL": url, "LOCAL_SECRET_KEY": "1", "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
    os.environ.pop("CELERY_BROKER_URL", None)
    import django  # noqa: PLC0415

    django.setup()
    import datetime as dt  # noqa: PLC0415

    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from ads import reports  # noqa: PLC0415
    from ads.models import AuctionLog, Placement  # noqa: PLC0415

    console = Console(width=160)
    call_command("migrate", verbosity=0)
    last = dt.date(2026, 11, 30)
    first = last - dt.timedelta(days=args.days - 1)
    with connection.cursor() as cursor:
        if not reused:
            _fill(cursor, args, first)
        cursor.execute("SELECT pg_size_pretty(pg_table_size('ads_auctionlog')), "
                       "(SELECT pg_size_pretty(pg_relation_size(oid)) FROM pg_class WHERE relname = %s)", [DAY_INDEX])
        table_size, index_size = cursor.fetchone()
    rows = AuctionLog.objects.count()
    placement = Placement.objects.filter(auctions__isnull=False).order_by("id").first()
    month = {"date_from": last - dt.timedelta(days=29), "date_to": last}
    queries = {}
    for name, filters in (("whole site, 30 days", reports.ReportFilters(**month)),
                          ("one placement, 30 days", reports.ReportFilters(**month, placement_id=placement.id))):
        with CaptureQueriesContext(connection) as captured:
            value = reports.fill_rate(filters=filters)
        queries[name] = (captured.captured_queries[-1]["sql"], value)
    console.print(f"load {os.getloadavg()}; {rows:,} auction log rows over {args.days} days, table {table_size}, "
                  f"day index {index_size or 'absent'}")
    for name, (sql, value) in queries.items():
        console.print(f"{name}: fill rate {value}%\n  {sql}")
    results = {(name, without): [] for name in queries for without in (True, False)}
    with connection.cursor() as cursor:
        for _round in range(args.rounds):
            for name, (sql, _value) in queries.items():
                for without in (True, False):  # alternating, in the same time window
                    results[name, without].append(_explain(cursor, sql, without=without))
    table = Table(title=f"fill_rate over {rows:,} auction log rows, {args.rounds} rounds alternating "
                        f"(load after {os.getloadavg()[0]:.2f})")
    for column in ("query", "day index", "scan", "rows read", "heap fetches", "buffers (8 kB)", "median ms", "max ms"):
        table.add_column(column, justify="right")
    for (name, without), runs in results.items():
        table.add_row(name, "dropped" if without else "as migrated", runs[-1]["scan"], f"{runs[-1]['rows']:,}",
                      f"{runs[-1]['heap_fetches']:,}", f"{runs[-1]['buffers']:,}",
                      f"{statistics.median(r['ms'] for r in runs):.1f}", f"{max(r['ms'] for r in runs):.1f}")
    console.print(table)
    if not args.keep:
        connection.close()
        drop_database(url)


if __name__ == "__main__":
    main()
