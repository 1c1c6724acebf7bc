"""Tracking events into PostgreSQL: the sustained rate of served impressions recorded with nothing
lost, three ways in the same run, and the rate of clicks (each one charged, in its transaction).

    .venv/bin/python bench/tracking.py --database-url postgres://postgres@127.0.0.1:5432/DB \
        --redis-url redis://127.0.0.1:6379/12 [--events 40000] [--producers 2] [--clicks 2000]

- baseline: one INSERT per event, autocommit (what a naive tracker does);
- direct:   `ads.events.impressions_serve` writing each auction's slots (2) in one INSERT;
- buffered: `impressions_serve` with AD_EVENTS_REDIS_URL set (one RPUSH per auction), while one
  flusher process runs `impressions_flush` (COPY into a temporary table, INSERT ... ON CONFLICT DO
  NOTHING, then LTRIM) until the buffer is empty.

Each mode runs `--producers` processes (web workers) serving `--events` impressions in all; the rate
is events / (first event to the last row committed), and the rows are then counted by id: nothing
may be missing or doubled. Give a scratch database: the script runs `migrate` and writes an
advertiser, a campaign and its events there, and refuses a database with advertisers it did not make. The load average is printed: the 2 cores are shared.
"""
import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(database_url: str, redis_url: str = "") -> None:
    os.environ.update({"DATABASE_URL": database_url, "LOCAL_SECRET_KEY": "1",
                       "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
    os.environ.pop("CELERY_BROKER_URL", None)
    if redis_url:
        os.environ["AD_EVENTS_REDIS_URL"] = redis_url
    else:
        os.environ.pop("AD_EVENTS_REDIS_URL", None)
    import django  # noqa: PLC0415

    django.setup()


def _result(campaign_ids):
    from decimal import Decimal  # noqa: PLC0415

    from ads.auction import AuctionResult, Slot  # noqa: PLC0415
    from ads.models import Campaign  # noqa: PLC0415

    slots = []
    for position, campaign in enumerate(Campaign.objects.filter(id__in=campaign_ids).order_by("id"), start=1):
        promotion = campaign.promotions.get()
        keyword = campaign.keywords.get()
        slots.append(Slot(position, campaign.id, campaign.name, campaign.advertiser_id, "bench", promotion.article_id,
                          promotion.id, "bench", "cpc", campaign.max_bid, Decimal("0.50"), 1.0, 0.9, keyword.text,
                          keyword.id))
    return AuctionResult(slots=slots)


def _produce(mode, database_url, redis_url, campaign_ids, count, start, done):
    _setup(database_url, redis_url if mode == "buffered" else "")
    import uuid  # noqa: PLC0415

    from django.db import connection  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from ads import events  # noqa: PLC0415
    from ads.events import BUFFERED, Visitor  # noqa: PLC0415
    from ads.models import Impression  # noqa: PLC0415

    visitor = Visitor(reader_key="k" * 32, ip_prefix="203.0.113.0", browser_family="Chrome", os_family="Windows")
    result = _result(campaign_ids)
    placement_id = 1
    from ads.models import Placement  # noqa: PLC0415

    placement = Placement.objects.get_or_create(slug="question", defaults={"kind": "question"})[0]
    placement_id = placement.id
    start.wait()
    if mode == "baseline":
        table, columns = Impression._meta.db_table, ", ".join(BUFFERED)
        marks = ", ".join(["%s"] * len(BUFFERED))
        slot = result.slots[0]
        with connection.cursor() as cursor:
            for _ in range(count):
                now = timezone.now()
                row = Impression(id=uuid.uuid4(), placement_id=placement_id, campaign_id=slot.campaign_id,
                                 keyword_id=slot.keyword_id, promotion_id=slot.promotion_id, pricing="cpc",
                                 price=slot.price, served_at=now, ad_day=now.date(), reader_key=visitor.reader_key)
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                               [getattr(row, name) for name in BUFFERED])
    else:
        for _ in range(count // len(result.slots)):
            events.impressions_serve(result=result, placement=placement, visitor=visitor)
    done.put(time.perf_counter())


def _flush(database_url, redis_url, producers_done, finished):
    _setup(database_url, redis_url)
    from ads import events  # noqa: PLC0415

    while True:
        moved = events.impressions_flush()
        if producers_done.is_set() and not moved and events.buffered_count() == 0:
            break
        if not moved:
            time.sleep(0.01)
    finished.put(time.perf_counter())


def run_mode(mode, args, campaign_ids) -> tuple[float, int, float]:
    from ads.models import Impression  # noqa: PLC0415

    before = Impression.objects.filter(campaign_id__in=campaign_ids).count()
    ctx = mp.get_context("spawn")
    start, done, producers_done, finished = ctx.Barrier(args.producers + 1), ctx.Queue(), ctx.Event(), ctx.Queue()
    share = args.events // args.producers
    workers = [ctx.Process(target=_produce, args=(mode, args.database_url, args.redis_url, campaign_ids, share,
                                                 start, done)) for _ in range(args.producers)]
    flusher = None
    if mode == "buffered":
        flusher = ctx.Process(target=_flush, args=(args.database_url, args.redis_url, producers_done, finished))
        flusher.start()
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    ends = [done.get() for _ in workers]
    for worker in workers:
        worker.join()
    end = served = max(ends)
    if flusher is not None:
        producers_done.set()
        end = finished.get()
        flusher.join()
    written = Impression.objects.filter(campaign_id__in=campaign_ids).count() - before
    return end - began, written, served - began


def clicks(args, campaign_ids) -> float:
    from django.utils import timezone  # noqa: PLC0415

    from ads import events  # noqa: PLC0415
    from ads.events import Visitor  # noqa: PLC0415
    from ads.models import Placement  # noqa: PLC0415

    visitor = Visitor(reader_key="c" * 32, ip_prefix="203.0.113.0", browser_family="Chrome", os_family="Windows")
    placement = Placement.objects.get(slug="question")
    result = _result(campaign_ids[:1])
    served = [events.impressions_serve(result=result, placement=placement, visitor=visitor)[0].impression_id
              for _ in range(args.clicks)]
    began = time.perf_counter()
    for impression_id in served:
        events.click_record(impression_id=impression_id, visitor=visitor, at=timezone.now())
    return args.clicks / (time.perf_counter() - began)


def refuse_a_real_database() -> None:
    """Stops before `migrate` when the database holds advertisers this bench did not make: it is
    somebody's library, not a scratch database (a database of earlier bench runs is fine)."""
    from django.db import connection  # noqa: PLC0415

    if "ads_advertiser" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ads_advertiser WHERE name NOT LIKE 'bench tracking %%'")
        (others,) = cursor.fetchone()
    if others:
        sys.exit(f"The database holds {others} advertiser{'s' * (others != 1)} this bench did not make: it migrates the database and "
                 "writes campaigns and events into it. Give --database-url of an empty scratch database "
                 "(createdb bench_tracking) or of one only earlier runs of this bench used.")


def fixtures():
    import datetime as dt  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    from ads.models import Advertiser, Campaign, CampaignKeyword, Promotion, Review  # noqa: PLC0415
    from ads.services import ledger_top_up  # noqa: PLC0415
    from contentlib.models import Article  # noqa: PLC0415

    advertiser = Advertiser.objects.create(name=f"bench tracking {time.time_ns()}")
    ledger_top_up(advertiser_id=advertiser.id, amount="1000000", actor=None, note="bench")
    ids = []
    for n in range(2):
        article = Article.objects.create(title=f"bench {advertiser.id}-{n}", text="bench", owner=advertiser,
                                         origin=Article.Origin.SUBMITTED, status=Article.Status.APPROVED)
        campaign = Campaign.objects.create(advertiser=advertiser, name=f"bench {n}", max_bid=Decimal("1.00"),
                                           daily_budget=Decimal("1000000"), total_budget=Decimal("1000000"),
                                           start_date=dt.date(2026, 1, 1), status=Campaign.Status.ACTIVE)
        CampaignKeyword.objects.create(campaign=campaign, text="bench", review=Review.APPROVED)
        Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
        ids.append(campaign.id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (postgres://...)")
    parser.add_argument("--redis-url", required=True, help="a Redis database for the buffer (redis://...)")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--clicks", type=int, default=2000)
    args = parser.parse_args()
    _setup(args.database_url)
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    if connection.vendor != "postgresql":
        sys.exit("bench/tracking.py measures PostgreSQL: give --database-url postgres://...")
    refuse_a_real_database()
    call_command("migrate", verbosity=0)
    campaign_ids = fixtures()
    rows = []
    for mode in ("baseline", "direct", "buffered"):
        seconds, written, serving = run_mode(mode, args, campaign_ids)
        rows.append((mode, written, seconds, serving))
        if written != args.events // args.producers * args.producers:
            print(f"{mode}: {written} rows for {args.events} events: LOST OR DOUBLED")
    baseline_rate = rows[0][1] / rows[0][2]
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; {args.producers} producers")
    print(f"{'mode':<10} {'events':>8} {'seconds':>8} {'events/s':>9} {'× baseline':>11} {'serving s':>10}")
    for mode, written, seconds, serving in rows:
        rate = written / seconds
        print(f"{mode:<10} {written:>8} {seconds:>8.2f} {rate:>9.0f} {rate / baseline_rate:>11.1f} {serving:>10.2f}")
    print(f"clicks (charged, one transaction each, one process): {clicks(args, campaign_ids):.0f}/s")


if __name__ == "__main__":
    main()
