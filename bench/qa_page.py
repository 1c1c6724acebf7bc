"""The question page under gunicorn (2 sync workers, DEBUG=0) against a hello-world Django view in
the same run: requests per second, p50 and p99. Goal (issue #16): the page serves at least 40% of
the hello-world rate.

    .venv/bin/python bench/qa_page.py [--seconds 15] [--clients 4] [--database-url postgres://…/scratch]
                                      [--events-redis-url redis://…]   # impressions buffered, as production can
                                      [--in-process 300]   # instead: a view's cost in one process, no gunicorn

It loads the fixture corpus (60 articles, from a source without full text, enriched and indexed
inline) into a scratch database (an SQLite file in a temporary directory unless --database-url names
an empty one), asks the demo's readers' questions (answers written and cached, questions published),
links the corpus's promotional articles to their advertisers and loads the demo's two campaigns
(ads.demo: funded, approved, keywords from the corpus), then measures GET /q/<slug> of the first
published question the demo campaigns match (a cached answer with its references and "others are
asking", and the sponsored block filled by a live auction on every request: an AuctionLog row and
the impressions served per view) and GET /bench/hello, alternating rounds. The
client runs on the same machine (threads, a new connection per request, as gunicorn's sync workers
close them), so the figures are the machine's, not the server's alone; the load average is printed.
"""
import argparse
import http.client
import itertools
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(environment: dict[str, str]) -> str:
    """Migrates the scratch database, loads the corpus, the demo campaigns and the demo questions;
    returns the path of a published question the campaigns match."""
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "contentlib.config.settings"
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.urls import reverse  # noqa: PLC0415

    from contentlib import corpus, services  # noqa: PLC0415
    from contentlib.models import Article, Source  # noqa: PLC0415
    from contentlib.site.demo import demo_curate, demo_questions  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    if Article.objects.exists():
        if not Source.objects.filter(slug="bench").exists():
            sys.exit("The database holds articles not loaded by this bench: pass --database-url of an empty one.")
        print("reusing the corpus, campaigns and questions this bench loaded into the database before")
        return _sponsored_question_path()
    source = Source.objects.create(name="Bench corpus", slug="bench", kind=Source.Kind.SITE)
    for item in corpus.articles():
        article = services.article_upsert(title=item.title, text="\n".join(item.paragraphs), origin="crawled",
                                          source_id=source.id, language=item.lang,
                                          canonical_url=f"https://bench.example/{item.id}").article
        services.article_approve(article_id=article.id, reason="bench")
    demo_curate(source=source)  # the promotional articles' owners, as the demo's editors set them
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    from ads.demo import demo_advertisers_ensure  # noqa: PLC0415
    from ads.models import Campaign  # noqa: PLC0415

    staff = get_user_model().objects.create_superuser("bench-editor", "bench@example.com", "bench-password")
    demo_advertisers_ensure(password="bench-password", staff=staff)
    counts = demo_questions()
    print(f"corpus {Article.objects.count()} articles; campaigns "
          f"{Campaign.objects.filter(status=Campaign.Status.ACTIVE).count()} active; questions {counts}")
    return _sponsored_question_path()


def _sponsored_question_path() -> str:
    """The first published demo question a demo campaign's keyword matches (ads.demo), whose page
    the auction fills; exits when there is none (the bench would measure no auction)."""
    from ads.demo import demo_sponsored_pages  # noqa: PLC0415

    questions = [path for _company, path in demo_sponsored_pages() if path.startswith("/q/")]
    if not questions:
        sys.exit("No published question matches a demo campaign: the bench would measure no auction.")
    return questions[0]


_readers = itertools.count(1)
_RUN = secrets.randbelow(1_000_000)  # readers of another run on the same database are other readers


def _headers() -> dict[str, str]:
    """A browser's headers, each request a new reader (its own user agent build, unique to this
    run): the demo campaigns' frequency cap (3 a reader a day) would otherwise empty the block
    after 3 views, as it would for one real reader, and the cap's impressions count still runs on
    every view."""
    n = next(_readers)
    return {"Host": "127.0.0.1", "Accept-Language": "zh-CN",
            "User-Agent": f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                          f"Chrome/131.{_RUN}.{n // 1000}.{n % 1000} Safari/537.36"}


def measure(port: int, path: str, *, seconds: float, clients: int) -> dict:
    """Requests per second and latency percentiles of GET `path` from `clients` threads for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("GET", path, headers=_headers())
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    with lock:
                        errors[0] += 1
                    continue
            except OSError:  # a timeout (30 s) or a refused connection: an error, not a lost thread
                with lock:
                    errors[0] += 1
                continue
            finally:
                connection.close()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")}


def _sponsored_cards(port: int, path: str) -> int:
    """How many sponsored cards one GET of `path` shows."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=_headers())
        return connection.getresponse().read().decode().count('class="sponsored-card"')
    finally:
        connection.close()


def in_process(path: str, *, views: int) -> None:
    """What a view costs in this process, without gunicorn or a client's share of the CPU: `views`
    question pages (each a new reader) and `/healthz` alternated through Django's test client."""
    from django.test import Client  # noqa: PLC0415

    client = Client()

    def view(url: str) -> float:
        headers = _headers()
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1", HTTP_USER_AGENT=headers["User-Agent"], HTTP_ACCEPT_LANGUAGE="zh-CN")
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            sys.exit(f"GET {url} answered {response.status_code}")
        if url == path and 'class="sponsored-card"' not in response.content.decode():
            sys.exit(f"{path} showed no sponsored card: the bench would measure no filled auction.")
        return seconds

    for _ in range(30):  # warm: the book, templates, the connection
        view(path), view("/healthz")
    pages, health = [], []
    for _ in range(views):
        pages.append(view(path))
        health.append(view("/healthz"))
    pages.sort()
    print(f"in one process, {views} views each, load average {os.getloadavg()[0]:.2f}: question page median "
          f"{statistics.median(pages) * 1000:.2f} ms, p90 {pages[int(views * 0.9) - 1] * 1000:.2f} ms; "
          f"/healthz median {statistics.median(health) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per URL")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--database-url", default="", help="an empty scratch database (default: a temporary SQLite file)")
    parser.add_argument("--events-redis-url", default="",
                        help="buffer impressions in this Redis (AD_EVENTS_REDIS_URL, as production can run it); "
                             "flushed into the database after the run. Default: written directly, per view")
    parser.add_argument("--in-process", type=int, default=0, metavar="VIEWS",
                        help="instead: this many views through Django's test client in this process (no gunicorn)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="qa-page-bench-"))
    environment = {
        "DATABASE_URL": args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}",
        "DATA_DIR": str(scratch / "data"), "DEBUG": "0", "LOCAL_SECRET_KEY": "1",
        "ALLOWED_HOSTS": "127.0.0.1", "ANSWER_NO_ANSWER_TTL_HOURS": "24",
        # Persistent connections, as production should run (a new PostgreSQL connection per request
        # costs more than the page itself).
        "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "60"),
    }
    if args.events_redis_url:
        environment["AD_EVENTS_REDIS_URL"] = args.events_redis_url
    # Eager Celery and an in-process cache, as one server without a broker runs.
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "HTTPS", "AD_EVENTS_REDIS_URL"):
        os.environ.pop(name, None)
    question_path = prepare(environment)
    if args.in_process:
        in_process(question_path, views=args.in_process)
        return

    port = _free_port()
    server_env = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.qa_page_wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--log-level", "warning"], cwd=ROOT, env=server_env)
    try:
        for _ in range(600):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        for path in ("/bench/hello", question_path):  # warm both workers: models, templates, connections
            measure(port, path, seconds=3, clients=args.clients)
        cards = _sponsored_cards(port, question_path)
        if not cards:
            sys.exit(f"{question_path} shows no sponsored card: the bench would measure no filled auction.")
        from ads.models import AuctionLog  # noqa: PLC0415

        last_before = AuctionLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        results = {"hello": [], "question": []}
        for _ in range(args.rounds):
            results["hello"].append(measure(port, "/bench/hello", seconds=args.seconds, clients=args.clients))
            results["question"].append(measure(port, question_path, seconds=args.seconds, clients=args.clients))
        logged = AuctionLog.objects.filter(id__gt=last_before)
        auctions, filled = logged.count(), logged.filter(filled__gt=0).count()
    finally:
        server.terminate()
        server.wait(timeout=30)

    def combined(rows):
        return {"requests": sum(r["requests"] for r in rows), "errors": sum(r["errors"] for r in rows),
                "rps": statistics.mean(r["rps"] for r in rows), "p50": statistics.mean(r["p50"] for r in rows),
                "p99": max(r["p99"] for r in rows)}

    if args.events_redis_url:
        from ads.events import impressions_flush  # noqa: PLC0415

        print(f"impressions buffered in {args.events_redis_url} and flushed into the database: {impressions_flush()}")
    hello, question = combined(results["hello"]), combined(results["question"])
    print(f"\ngunicorn 2 sync workers, {args.clients} client threads, {args.rounds} x {args.seconds:g} s per URL, "
          f"impressions {'buffered in Redis' if args.events_redis_url else 'written per view'}, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'view':<28}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, row in (("hello-world Django view", hello), (f"question page {question_path[:12]}…", question)):
        print(f"{name:<28}{row['requests']:>10}{row['errors']:>8}{row['rps']:>10.1f}{row['p50']:>10.1f}{row['p99']:>10.1f}")
    print(f"sponsored block: {cards} card(s) on the page; {auctions} auctions logged while measuring, "
          f"{filled} of them filled ({question['requests']} question page requests): a live auction per view")
    ratio = question["rps"] / hello["rps"] if hello["rps"] else 0.0
    print(f"question page / hello world: {ratio:.0%} (goal >= 40%: {'met' if ratio >= 0.4 else 'NOT met'})")


if __name__ == "__main__":
    main()
