"""The question page under gunicorn (2 sync workers, DEBUG=0) against a hello-world Django view in
the same run: requests per second, p50 and p99. Goal (issue #16): the page serves at least 40% of
the hello-world rate.

    .venv/bin/python bench/qa_page.py [--seconds 15] [--clients 4] [--database-url postgres://…/scratch]

It loads the fixture corpus (60 articles, from a source without full text, enriched and indexed
inline) into a scratch database (an SQLite file in a temporary directory unless --database-url names
an empty one), asks the demo's readers' questions (answers written and cached, questions published),
then measures GET /q/<slug> of the first published question (a cached answer with its references
and "others are asking"; no sponsored block yet) and GET /bench/hello, alternating rounds. The
client runs on the same machine (threads, a new connection per request, as gunicorn's sync workers
close them), so the figures are the machine's, not the server's alone; the load average is printed.
"""
import argparse
import http.client
import os
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
    """Migrates the scratch database, loads the corpus and answers the demo questions; returns a
    published question's path."""
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "contentlib.config.settings"
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.urls import reverse  # noqa: PLC0415

    from contentlib import corpus, services  # noqa: PLC0415
    from contentlib.models import Article, Question, Source  # noqa: PLC0415
    from contentlib.site.demo import demo_questions  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    if Article.objects.exists():
        question = Question.objects.filter(status=Question.Status.PUBLISHED).order_by("id").first()
        if question is None or not Source.objects.filter(slug="bench").exists():
            sys.exit("The database holds articles not loaded by this bench: pass --database-url of an empty one.")
        print("reusing the corpus and questions this bench loaded into the database before")
        return reverse("site:question_detail", args=[question.slug])
    source = Source.objects.create(name="Bench corpus", slug="bench", kind=Source.Kind.SITE)
    for item in corpus.articles():
        article = services.article_upsert(title=item.title, text="\n".join(item.paragraphs), origin="crawled",
                                          source_id=source.id, language=item.lang,
                                          canonical_url=f"https://bench.example/{item.id}").article
        services.article_approve(article_id=article.id, reason="bench")
    counts = demo_questions()
    question = Question.objects.filter(status=Question.Status.PUBLISHED).order_by("id").first()
    print(f"corpus {Article.objects.count()} articles; questions {counts}")
    return reverse("site:question_detail", args=[question.slug])


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
                connection.request("GET", path, headers={"Host": "127.0.0.1", "Accept-Language": "zh-CN"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per URL")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--database-url", default="", help="an empty scratch database (default: a temporary SQLite file)")
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
    # Eager Celery and an in-process cache, as one server without a broker runs.
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "HTTPS"):
        os.environ.pop(name, None)
    question_path = prepare(environment)

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
        results = {"hello": [], "question": []}
        for _ in range(args.rounds):
            results["hello"].append(measure(port, "/bench/hello", seconds=args.seconds, clients=args.clients))
            results["question"].append(measure(port, question_path, seconds=args.seconds, clients=args.clients))
    finally:
        server.terminate()
        server.wait(timeout=30)

    def combined(rows):
        return {"requests": sum(r["requests"] for r in rows), "errors": sum(r["errors"] for r in rows),
                "rps": statistics.mean(r["rps"] for r in rows), "p50": statistics.mean(r["p50"] for r in rows),
                "p99": max(r["p99"] for r in rows)}

    hello, question = combined(results["hello"]), combined(results["question"])
    print(f"\ngunicorn 2 sync workers, {args.clients} client threads, {args.rounds} x {args.seconds:g} s per URL, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'view':<28}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, row in (("hello-world Django view", hello), (f"question page {question_path[:12]}…", question)):
        print(f"{name:<28}{row['requests']:>10}{row['errors']:>8}{row['rps']:>10.1f}{row['p50']:>10.1f}{row['p99']:>10.1f}")
    ratio = question["rps"] / hello["rps"] if hello["rps"] else 0.0
    print(f"question page / hello world: {ratio:.0%} (goal >= 40%: {'met' if ratio >= 0.4 else 'NOT met'})")


if __name__ == "__main__":
    main()
