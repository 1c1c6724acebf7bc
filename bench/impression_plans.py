"""Which index of ads_impression each query that reads it uses: EXPLAIN on a populated database.

    .venv/bin/python bench/impression_plans.py --database-url postgres://postgres@127.0.0.1:5432/DB \
        [--impressions 1000000] [--days 30] [--campaigns 200] [--reuse]

The database is migrated and filled (once; --reuse keeps the rows of an earlier run) with campaigns
(4 an advertiser, 5 keywords each), promotions, 4 placements, auction logs and `--impressions`
impressions over `--days` ad days, in time order (a third of the CPM campaigns' impressions viewable
and accrued, nine in ten of those charged in a ledger entry). Then the code
that reads impressions runs inside a transaction that is rolled back (the rollup recompute, the
reports, the CPM flush, the frequency cap, the click's read, the admin's list and filters); every
statement it sends that names ads_impression is EXPLAINed, and so are the retention's statements,
the click log export's join and the queries a DELETE of a parent row would make (Django's PROTECT
or SET NULL query, and PostgreSQL's foreign-key check where the constraint is left: campaign, ledger
entry). Prints one line per statement: the indexes its plan uses,
or "Seq Scan". docs/TRACKING.md, "Indexes of the impression table", lists the result.
"""
import argparse
import datetime as dt
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(database_url: str) -> None:
    os.environ.update({"DATABASE_URL": database_url, "LOCAL_SECRET_KEY": "1",
                       "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("AD_EVENTS_REDIS_URL", None)
    import django  # noqa: PLC0415

    django.setup()


def _fill(args) -> None:
    from decimal import Decimal  # noqa: PLC0415

    from django.db import connection  # noqa: PLC0415

    from ads.models import (Advertiser, AuctionLog, Campaign, CampaignKeyword, LedgerEntry, Placement,  # noqa: PLC0415
                            Promotion, Review)
    from contentlib.models import Article, Question  # noqa: PLC0415

    today = dt.date(2026, 12, 1)
    placements = [Placement.objects.get_or_create(slug=f"plans-{n}", defaults={"kind": "question"})[0]
                  for n in range(4)]
    question = Question.objects.create(text="plans", normalized_text="plans", slug="plans",
                                       status=Question.Status.PUBLISHED)
    advertisers = [Advertiser.objects.create(name=f"plans {n}", balance=Decimal("1000"))
                   for n in range(max(1, args.campaigns // 4))]
    for n in range(args.campaigns):
        advertiser = advertisers[n % len(advertisers)]
        campaign = Campaign.objects.create(advertiser=advertiser, name=f"plans {n}", max_bid=Decimal("1.00"),
                                           daily_budget=Decimal("1000"), total_budget=Decimal("100000"),
                                           start_date=today - dt.timedelta(days=args.days), frequency_cap=3,
                                           pricing="cpm" if n % 4 == 0 else "cpc", status=Campaign.Status.ACTIVE)
        for k in range(5):
            CampaignKeyword.objects.create(campaign=campaign, text=f"plans {k}", review=Review.APPROVED)
        article = Article.objects.create(title=f"plans {n}", text="plans", owner=advertiser,
                                         origin=Article.Origin.SUBMITTED, status=Article.Status.APPROVED)
        Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
        LedgerEntry.objects.create(advertiser=advertiser, kind=LedgerEntry.Kind.CHARGE, amount=Decimal("-1"),
                                   balance_after=Decimal("999"), campaign=campaign, ad_day=today, units=100)
    for day in range(args.days):
        AuctionLog.objects.bulk_create([AuctionLog(placement=placements[n % 4], question=question,
                                                   question_text="plans", floor=Decimal("0.10"),
                                                   ad_day=today - dt.timedelta(days=day))
                                        for n in range(100)])
    with connection.cursor() as cursor:
        # Rows in time order (as serving writes them), spread over the campaigns, keywords,
        # placements, auctions and 200,000 reader keys.
        cursor.execute("""
            WITH c AS (SELECT row_number() OVER (ORDER BY c.id) - 1 AS n, c.id, c.pricing,
                              (SELECT min(k.id) FROM ads_campaignkeyword k WHERE k.campaign_id = c.id) AS keyword_id,  -- of 5
                              (SELECT p.id FROM ads_promotion p WHERE p.campaign_id = c.id) AS promotion_id,
                              (SELECT min(l.id) FROM ads_ledgerentry l WHERE l.campaign_id = c.id) AS entry_id
                       FROM ads_campaign c WHERE c.name LIKE 'plans %%'),
                 p AS (SELECT array_agg(id ORDER BY id) AS ids FROM ads_placement WHERE slug LIKE 'plans-%%'),
                 a AS (SELECT array_agg(id ORDER BY id) AS ids FROM ads_auctionlog WHERE question_text = 'plans'),
                 s AS (SELECT g, %(start)s::timestamptz + (g::float8 * %(span)s / %(rows)s) * interval '1 second' AS at
                       FROM generate_series(0, %(rows)s - 1) g)
            INSERT INTO ads_impression (id, auction_id, placement_id, campaign_id, keyword_id, promotion_id, position,
                                        pricing, price, served_at, ad_day, viewable_at, reader_key, ip_prefix,
                                        browser_family, os_family, invalid_reason, cost, unbilled_reason,
                                        ledger_entry_id, credited_at)
            SELECT gen_random_uuid(), a.ids[1 + s.g %% array_length(a.ids, 1)], p.ids[1 + s.g %% 4], c.id,
                   c.keyword_id + (s.g / %(campaigns)s) %% 5, c.promotion_id, 1, c.pricing, 0.5, s.at,
                   (s.at AT TIME ZONE 'Asia/Shanghai')::date,
                   CASE WHEN s.g %% 3 = 0 THEN s.at + interval '2 seconds' END, md5((s.g %% 200000)::text), '203.0.113.0',
                   'Chrome', 'Windows', CASE WHEN s.g %% 50 = 0 THEN 'bot' ELSE '' END,
                   CASE WHEN c.pricing = 'cpm' AND s.g %% 3 = 0 THEN 0.5 ELSE 0 END, '',
                   CASE WHEN c.pricing = 'cpm' AND s.g %% 3 = 0 AND s.g < %(rows)s * 0.9 THEN c.entry_id END, NULL
            FROM s JOIN c ON c.n = s.g %% %(campaigns)s, p, a""",
                       {"start": dt.datetime.combine(today - dt.timedelta(days=args.days - 1), dt.time(),
                                                     tzinfo=dt.UTC),
                        "span": args.days * 86400, "rows": args.impressions, "campaigns": args.campaigns})
        cursor.execute("""UPDATE ads_campaign c SET accrued = a.total, spend_total = a.total FROM
                          (SELECT campaign_id, sum(cost) AS total FROM ads_impression
                           WHERE cost > 0 AND ledger_entry_id IS NULL GROUP BY campaign_id) a WHERE a.campaign_id = c.id""")
        cursor.execute("""UPDATE ads_advertiser v SET accrued = a.total, balance = a.total + 1000 FROM
                          (SELECT advertiser_id, sum(accrued) AS total FROM ads_campaign GROUP BY advertiser_id) a
                          WHERE a.advertiser_id = v.id""")
        cursor.execute("ANALYZE")


def _indexes(plan: list[str]) -> str:
    used = []
    for line in plan:
        match = re.search(r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)", line)
        if match:
            used.append(match.group(1))
        elif re.search(r"Seq Scan on ads_impression", line):
            used.append("Seq Scan")
    return ", ".join(dict.fromkeys(used)) or "-"


def _explain(label: str, sql: str, params=None, *, verbose: bool = False) -> None:
    from django.db import connection  # noqa: PLC0415

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    print(f"{label:<52} {_indexes(plan)}")
    if verbose:
        print("    " + "\n    ".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--impressions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the rows an earlier run made")
    parser.add_argument("--verbose", action="store_true", help="print every plan")
    args = parser.parse_args()
    _setup(args.database_url)
    from types import SimpleNamespace  # noqa: PLC0415

    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection, transaction  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    from ads import auction, billing, events, exports, reports, rollups  # noqa: PLC0415
    from ads.models import Campaign, Impression, Placement  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    if not (args.reuse and Impression.objects.exists()):
        with transaction.atomic():
            _fill(args)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ads_impression' ORDER BY indexname")
        print("indexes:", ", ".join(row[0] for row in cursor.fetchall()))
        cursor.execute("SELECT count(*), min(ad_day), max(ad_day) FROM ads_impression")
        print("impressions: {} over ad days {} to {}\n".format(*cursor.fetchone()))

    campaign = Campaign.objects.filter(name__startswith="plans", pricing="cpm").order_by("id").first()
    placement = Placement.objects.filter(slug__startswith="plans-").order_by("id").last()
    impression = Impression.objects.filter(campaign=campaign).order_by().first()
    day = impression.ad_day
    filters = reports.ReportFilters(date_from=day - dt.timedelta(days=6), date_to=day,
                                    advertiser_id=campaign.advertiser_id)
    one_keyword = reports.ReportFilters(date_from=day - dt.timedelta(days=6), date_to=day,
                                        advertiser_id=campaign.advertiser_id,
                                        keyword_id=impression.keyword_id, placement_id=placement.id)
    book = SimpleNamespace(campaigns={campaign.id: SimpleNamespace(state=None)})
    user = get_user_model().objects.filter(username="plans").first() or \
        get_user_model().objects.create_superuser("plans", "plans@example.com", "plans")
    client = Client()
    client.force_login(user)
    calls = {
        "rollups_recompute(day)": lambda: rollups.rollups_recompute(day=day, now=dt.datetime.now(dt.UTC)),
        "reports.search_terms (advertiser, 7 days)": lambda: reports.search_terms(
            viewer=reports.Viewer(campaign.advertiser_id, False), filters=filters),
        "reports.search_terms (+ keyword, placement)": lambda: reports.search_terms(
            viewer=reports.Viewer(campaign.advertiser_id, False), filters=one_keyword),
        "reports.reconciliation (analyst)": lambda: reports.reconciliation(
            viewer=reports.Viewer(None, True), filters=filters),
        "billing.cpm_flush (one campaign)": lambda: billing.cpm_flush(campaign_ids=[campaign.id]),
        "auction frequency cap (_refresh_states)": lambda: auction._refresh_states(
            book, [campaign.id], reader=impression.reader_key, day=day),
        "events.click_target (by id)": lambda: events.click_target(impression.id),
        "events.viewable_record (by id)": lambda: events.viewable_record(impression_id=impression.id),
        "demo_traffic: campaigns have impressions": lambda: Impression.objects.filter(
            campaign__in=[campaign]).exists(),
        "admin list": lambda: client.get("/admin/ads/impression/"),
        "admin list, placement filter": lambda: client.get(f"/admin/ads/impression/?placement__id__exact={placement.id}"),
        "admin list, ad day filter": lambda: client.get(f"/admin/ads/impression/?ad_day={day}"),
        "admin list, date hierarchy (a day)": lambda: client.get(
            f"/admin/ads/impression/?served_at__day={day.day}&served_at__month={day.month}"
            f"&served_at__year={day.year}"),
        "admin list, invalid reason filter": lambda: client.get("/admin/ads/impression/?invalid_reason__exact=bot"),
        "admin search (id or campaign name)": lambda: client.get(f"/admin/ads/impression/?q={campaign.name}"),
        "admin change page": lambda: client.get(f"/admin/ads/impression/{impression.id}/change/"),
    }
    for label, call in calls.items():
        statements = []
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as captured:
                    call()
                statements = [q["sql"] for q in captured.captured_queries
                              if "ads_impression" in q["sql"] and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
                for n, sql in enumerate(statements):
                    _explain(label if n == 0 else "  …", sql, verbose=args.verbose)
                raise _Rollback
        except _Rollback:
            pass
        if not statements:
            print(f"{label:<52} (no statement on ads_impression)")

    cutoff = day - dt.timedelta(days=7)
    old = "ad_day < %s AND NOT EXISTS (SELECT 1 FROM ads_click k WHERE k.impression_id = ads_impression.id)"
    _explain("retention: archive (COPY SELECT)", f"SELECT * FROM ads_impression WHERE {old} ORDER BY ad_day, id",
             [cutoff], verbose=args.verbose)
    _explain("retention: DELETE", f"DELETE FROM ads_impression WHERE {old}", [cutoff], verbose=args.verbose)
    sql, params = exports._copy_sql(filters, "Asia/Shanghai")
    sql = sql[sql.index("(") + 1:sql.rindex(") TO STDOUT")] if sql.startswith("COPY") else sql
    _explain("click log export (LEFT JOIN impression)", sql, params, verbose=args.verbose)
    print()
    # A parent's DELETE: Django's collector asks for the protected (or SET NULL) rows first, and
    # PostgreSQL's foreign-key trigger, where a constraint is left, checks the child table at commit.
    for column, value in (("auction_id", impression.auction_id), ("placement_id", impression.placement_id),
                          ("campaign_id", impression.campaign_id), ("keyword_id", impression.keyword_id),
                          ("promotion_id", impression.promotion_id),
                          ("ledger_entry_id", Impression.objects.exclude(ledger_entry=None).values_list(
                              "ledger_entry_id", flat=True).first())):
        _explain(f"DELETE parent: collector ({column})",
                 f"SELECT id FROM ads_impression WHERE {column} IN (%s)", [value], verbose=args.verbose)
        _explain("  … foreign-key check at commit",
                 f"SELECT 1 FROM ONLY ads_impression x WHERE {column} = %s FOR KEY SHARE OF x", [value],
                 verbose=args.verbose)


class _Rollback(Exception):
    pass


if __name__ == "__main__":
    main()
