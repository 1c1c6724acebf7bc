"""The click redirect under load: `/c/<token>` served by gunicorn (2 sync workers) on PostgreSQL,
driven by a bounded asyncio client (aiohttp), then the ledger checked against the clicks sent.

    .venv/bin/python bench/click_redirect.py [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                    [--clicks 6000] [--repeat 0.1] [--concurrency 16] [--cache-url redis://...]

A throw-away PostgreSQL database (`<the one named>_click_<hex>`, beside it, dropped afterwards) gets one
advertiser with a large balance, a running CPC campaign with budgets it cannot reach, and
`--clicks` served impressions (through ads.events.impressions_serve, as the sponsored block serves
them). Each impression's signed click link is requested once, and a share `--repeat` of them a
second time (a double click: recorded, never billed twice). Every request carries its own
X-Forwarded-For address (gunicorn runs with TRUSTED_PROXY_COUNT=1), a browser's user agent and
arrives over a second after serving, so that the per-IP limits, the bot and too-fast rules pass
the clicks a person would make and the billing path is what is measured.

Timed: each request from send to the redirect's status line (nothing followed), after a warm-up of
200 requests. Then: requests/s, p50, p99, and the check: one Click row per request, one charge per
impression, the ledger's charges summing to impressions × price, the campaign's counters equal to
the ledger. The load average is printed with the figures: the machine's two cores are shared with
the client itself.
"""
import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# Its folder must not shadow an installed module (it once held click.py, which hid the `click` package).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
WARM_UP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL server; a database of its own is made beside this one and dropped")
    parser.add_argument("--clicks", type=int, default=6000, help="impressions clicked (each once)")
    parser.add_argument("--repeat", type=float, default=0.1, help="share of them clicked a second time")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (>1: gthread workers)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="DB_CONN_MAX_AGE of the server (0: a connection per request)")
    parser.add_argument("--cache-url", default="", help="CACHE_URL for the server (default: each worker's local memory)")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("bench/click_redirect.py needs PostgreSQL: give --database-url postgres://... (or set DATABASE_URL).")
    parts = urlsplit(args.database_url)
    name = f"{parts.path.strip('/') or 'postgres'}_click_{secrets.token_hex(4)}"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    work = tempfile.TemporaryDirectory(prefix="bench-click-")
    env = {"DATABASE_URL": url, "DATA_DIR": work.name, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0",
           "SEARCH_BACKEND": "embedded", "TRUSTED_PROXY_COUNT": "1", "DJANGO_SETTINGS_MODULE": "contentlib.config.settings",
           "AD_AUCTION_BOOK_SECONDS": "3600",
           # Persistent connections, as docs/OPERATIONS.md asks of production (0: one per request).
           "DB_CONN_MAX_AGE": str(args.conn_max_age)}
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    os.environ.update(env)
    os.environ.pop("CELERY_BROKER_URL", None)
    _database(parts, f"CREATE DATABASE {name}")
    try:
        run(args, work.name)
    finally:
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        _database(parts, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        work.cleanup()


def _database(parts, statement: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True) as connection:
        connection.execute(statement)


def run(args, data_dir: str) -> None:
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    campaign, price, urls = setup(args.clicks)
    port = _free_port()
    log = Path(data_dir) / "gunicorn.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "contentlib.config.wsgi", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--threads", str(args.threads),
         "--access-logfile", "/dev/null", "--error-logfile", str(log)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server, log)
        import random  # noqa: PLC0415

        rng = random.Random(15)
        requests = list(urls) + rng.sample(urls, int(len(urls) * args.repeat))
        rng.shuffle(requests)
        time.sleep(1.0)  # every impression now served over a second ago: no click is "too fast"
        latencies, statuses, seconds, cpu = asyncio.run(load(base, requests, args.concurrency,
                                                             lambda: _server_cpu(server.pid)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(args, campaign, price, requests, latencies, statuses, seconds, cpu)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _server_cpu(master: int) -> tuple[dict, dict]:
    """CPU seconds used so far by the gunicorn workers and by the PostgreSQL backends of the bench's
    database (both on this machine): what the server spends, whatever else the cores are doing."""
    import psycopg  # noqa: PLC0415

    workers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(int(p.name)) == master]
    with psycopg.connect(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)) as connection:
        backends = [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    return {pid: _cpu_seconds(pid) for pid in workers}, {pid: _cpu_seconds(pid) for pid in backends}


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def setup(clicks: int):
    """One advertiser, a running CPC campaign that no budget stops, `clicks` served impressions; their click URLs."""
    import datetime as dt  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    from django.utils import timezone  # noqa: PLC0415

    from ads import events, tracking  # noqa: PLC0415
    from ads.auction import AuctionResult, Slot  # noqa: PLC0415
    from ads.events import Visitor  # noqa: PLC0415
    from ads.models import Advertiser, Campaign, CampaignKeyword, LedgerEntry, Placement, Promotion, Review  # noqa: PLC0415
    from ads.traffic import agent_of  # noqa: PLC0415
    from contentlib.models import Article  # noqa: PLC0415
    from contentlib.readers import ad_day  # noqa: PLC0415

    price = Decimal("0.50")
    advertiser = Advertiser.objects.create(name="压测广告主", status=Advertiser.Status.ACTIVE,
                                           balance=Decimal("1000000.00"))
    LedgerEntry.objects.create(advertiser=advertiser, kind=LedgerEntry.Kind.TOP_UP, amount=Decimal("1000000.00"),
                               balance_after=Decimal("1000000.00"), actor_name="bench", note="bench top-up")
    article = Article.objects.create(title="压测推广文章", text="仓储机器人 " * 50, origin=Article.Origin.SUBMITTED,
                                     owner=advertiser, status=Article.Status.APPROVED, language="zh")
    campaign = Campaign.objects.create(
        advertiser=advertiser, name="压测计划", pricing=Campaign.Pricing.CPC, max_bid=Decimal("1.00"),
        daily_budget=Decimal("100000.00"), total_budget=Decimal("100000.00"), start_date=ad_day() - dt.timedelta(days=1),
        status=Campaign.Status.ACTIVE)
    keyword = CampaignKeyword.objects.create(campaign=campaign, text="仓储机器人", review=Review.APPROVED)
    promotion = Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
    placement = Placement.objects.get_or_create(slug="search", defaults={"kind": "search"})[0]
    slot = Slot(position=1, campaign_id=campaign.id, campaign_name=campaign.name, advertiser_id=advertiser.id,
                advertiser_name=advertiser.name, article_id=article.id, promotion_id=promotion.id, title=article.title,
                pricing="cpc", bid=campaign.max_bid, price=price, score=1.0, relevance=1.0, keyword=keyword.text,
                keyword_id=keyword.id)
    agent = agent_of(CHROME)
    visitor = Visitor(reader_key="bench", ip_prefix="192.0.2.0", browser_family=agent.browser_family,
                      os_family=agent.os_family)
    now = timezone.now()
    urls = []
    for _ in range(clicks):
        (served,) = events.impressions_serve(result=AuctionResult(slots=[slot]), placement=placement, visitor=visitor,
                                             now=now)
        token = tracking.click_token(impression_id=served.impression_id, served_at=served.served_at, agent=agent)
        urls.append(f"/c/{token}")
    return campaign, price, urls


async def load(base: str, paths: list[str], concurrency: int, server_cpu):
    import aiohttp  # noqa: PLC0415

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async def one(session, n: int, path: str):
        # An address per click from the documentation ranges (2001:db8::/32): the per-IP limits see a new reader.
        headers = {"User-Agent": CHROME, "X-Forwarded-For": f"2001:db8::{n // 65536:x}:{n % 65536:x}"}
        async with gate:
            started = time.perf_counter()
            async with session.get(base + path, headers=headers, allow_redirects=False) as response:
                await response.read()
                elapsed = time.perf_counter() - started
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if n >= WARM_UP:
            latencies.append(elapsed)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(one(session, n, p) for n, p in enumerate(paths[:WARM_UP])))
        cpu_before, started = server_cpu(), time.perf_counter()
        await asyncio.gather(*(one(session, n, p) for n, p in enumerate(paths[WARM_UP:], start=WARM_UP)))
        seconds = time.perf_counter() - started
        cpu_after = server_cpu()
    # Per process: one that started during the run counts from zero; one that ended is not counted.
    cpu = [sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
           for before, after in zip(cpu_before, cpu_after, strict=True)]
    return latencies, statuses, seconds, cpu


def report(args, campaign, price, requests, latencies, statuses, seconds, cpu) -> None:
    import statistics  # noqa: PLC0415

    from django.db.models import Count, Sum  # noqa: PLC0415

    from ads.models import Campaign, Click, LedgerEntry  # noqa: PLC0415

    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    rate = len(latencies) / seconds
    impressions = len(set(requests))
    charges = LedgerEntry.objects.filter(campaign=campaign, kind=LedgerEntry.Kind.CHARGE).aggregate(
        n=Count("id"), total=Sum("amount"))
    clicks = Click.objects.filter(campaign=campaign).aggregate(n=Count("id"))["n"]
    billed = Click.objects.filter(campaign=campaign, billed=True).count()
    reasons = dict(Click.objects.filter(campaign=campaign, billed=False).values_list("reason").annotate(n=Count("id")))
    campaign = Campaign.objects.get(id=campaign.id)
    expected_total = -(price * impressions)
    checks = {
        "click rows = requests sent": (clicks, len(requests)),
        "charges = impressions clicked": (charges["n"], impressions),
        "billed clicks = impressions clicked": (billed, impressions),
        "ledger sum = impressions × price": (charges["total"], expected_total),
        "campaign spend = −ledger sum": (campaign.spend_total, -(charges["total"] or 0)),
    }
    mismatches = sum(a != b for a, b in checks.values())
    load1, load5, _ = os.getloadavg()
    kind = f"{args.workers} workers × {args.threads} threads" if args.threads > 1 else f"{args.workers} sync workers"
    print(f"/c/<token> under gunicorn ({kind}, PostgreSQL), aiohttp client, "
          f"concurrency {args.concurrency}; load average {load1:.2f} / {load5:.2f}")
    print(f"{'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   statuses")
    print(f"{len(latencies):>9} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f}   {dict(sorted(statuses.items()))}")
    web, database = (1000 * c / len(latencies) for c in cpu)
    print(f"server CPU per request: {web:.2f} ms gunicorn workers + {database:.2f} ms PostgreSQL backends "
          f"= {web + database:.2f} ms (at most {2000 / (web + database):.0f} requests/s on two free cores)")
    print(f"unbilled by reason: {reasons}")
    for label, (got, want) in checks.items():
        print(f"  {'ok ' if got == want else 'MISMATCH'} {label}: {got} (expected {want})")
    print(f"mismatches: {mismatches}; goals: >= 300 req/s {'met' if rate >= 300 else 'NOT met'}, "
          f"p99 <= 50 ms {'met' if p99 <= 50 else 'NOT met'}, zero mismatch {'met' if not mismatches else 'NOT met'}")


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(base: str, server, log: Path) -> None:
    import urllib.request  # noqa: PLC0415

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.3)
    sys.exit(f"gunicorn did not start: {log.read_text()[-3000:] if log.exists() else ''}")


if __name__ == "__main__":
    main()
