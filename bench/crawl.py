"""Crawl throughput against the extraction-only floor, on >= 1,000 distinct local pages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crawlers_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/11 \\
        .venv/bin/python bench/crawl.py [--pages 1000]

The database named in DATABASE_URL is dropped and re-created (it must be a throwaway one). Pages are
built from corpus paragraphs (no two pages share more than one paragraph, so none is a
near-duplicate), wrapped in the same clutter as the crawl-test site, listed in a sitemap and served
from memory on 127.0.0.1. Then, each in a fresh process (cold):
  1. `manage.py crawl` (sitemap spider, every pipeline, PostgreSQL, enrichment queued on Redis and
     not run: no worker consumes the queue);
  2. the extraction floor: the crawl's own extraction (crawlers.extraction.extract_page: both
     trafilatura passes and the rules around them) over the same pages, in a loop.
Prints both throughputs and their ratio.
"""
import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from contentlib import corpus  # noqa: E402
from tests.crawlers.site import article_page  # noqa: E402  (the crawl-test site's page template)

FLOOR = """
import json, sys, time
from pathlib import Path
from crawlers.extraction import extract_page
pages = json.loads(Path(sys.argv[1]).read_text())
start = time.perf_counter()
found = sum(1 for url, path in pages if extract_page(Path(path).read_text(), url))
print(json.dumps({"seconds": time.perf_counter() - start, "found": found}))
"""


def build_pages(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Returns (path, html) for `count` pages; no two pages share more than one paragraph."""
    rng = random.Random(seed)
    articles = corpus.articles()
    pools = {lang: [(a, p) for a in articles if a.lang == lang for p in a.paragraphs] for lang in ("zh", "en")}
    used_pairs: set[frozenset] = set()
    pages = []
    while len(pages) < count:
        lang = "zh" if len(pages) % 3 else "en"
        picks = rng.sample(range(len(pools[lang])), 4)
        pairs = {frozenset((lang, a, b)) for i, a in enumerate(picks) for b in picks[i + 1:]}
        if pairs & used_pairs:
            continue
        used_pairs |= pairs
        template = pools[lang][picks[0]][0]
        body = "\n\n".join(pools[lang][i][1] for i in picks)
        n = len(pages)
        page = article_page(template, body=body).replace(
            f"<h1>{template.title}", f"<h1>{template.title} ({n})", 1
        ).replace("<title>", f"<title>({n}) ", 1)
        pages.append((f"/p/{n}.html", page))
    return pages


class _PageServer(asyncio.Protocol):
    """Answers keep-alive HTTP/1.1 GETs from pre-built responses: the site costs the crawl's two
    cores as little as a web server on another machine would (no thread or header parsing per page)."""

    def __init__(self, responses: dict[str, bytes]):
        self.responses = responses
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            path = head.split(b" ", 2)[1].decode("latin-1")
            self.transport.write(self.responses.get(path) or _NOT_FOUND)
            if b"\r\nconnection: close" in head.lower():
                self.transport.close()
                return


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"


def _response(path: str, body: bytes) -> bytes:
    kind = "text/plain" if path.endswith(".txt") else "application/xml" if path.endswith(".xml") else "text/html; charset=utf-8"
    return f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


class Site:
    """The bench's website, served from memory by an asyncio loop in a thread of its own."""

    def __init__(self):
        self.responses: dict[str, bytes] = {}
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _PageServer(self.responses), "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes) -> None:
        self.responses[path] = _response(path, body)

    def cpu_seconds(self) -> float:
        """CPU time the serving thread has used so far."""
        return time.clock_gettime(time.pthread_getcpuclockid(self.thread.ident))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: what a run cost, whatever else ran."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reset_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = url.replace(parts.path, "/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--profile", metavar="FILE", help="Run the crawl under cProfile, writing stats to FILE.")
    args = parser.parse_args()
    console = Console()
    db_url, broker = os.environ.get("DATABASE_URL", ""), os.environ.get("CELERY_BROKER_URL", "")
    if not db_url.startswith("postgres") or not broker.startswith("redis"):
        sys.exit("Set DATABASE_URL=postgres://... (a throwaway database: it is re-created) and CELERY_BROKER_URL=redis://...")
    reset_database(db_url)
    queue = redis.Redis.from_url(broker)
    queue.delete("nlp")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True)

    with Progress(console=console, transient=True) as bar:
        bar.add_task(f"Building {args.pages} pages", total=None)
        pages = build_pages(args.pages)
    site = Site()
    for path, html in pages:
        site.add(path, html.encode())
    base = f"http://127.0.0.1:{site.port}"
    site.add("/robots.txt", b"User-agent: *\nAllow: /\n")
    site.add("/sitemap.xml", ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              + "".join(f"<url><loc>{base}{path}</loc></url>" for path, _ in pages) + "</urlset>").encode())

    from contentlib.models import Source  # noqa: PLC0415 - after migrate
    Source.objects.create(name="Bench", slug="bench", kind=Source.Kind.SITEMAP, start_urls=[f"{base}/sitemap.xml"],
                          page_limit=args.pages + 10, time_limit_seconds=3600)
    env = {**os.environ, "CRAWL_DOWNLOAD_DELAY": "0", "CRAWL_CONCURRENCY_PER_DOMAIN": "16",
           "CRAWL_AUTOTHROTTLE_TARGET_CONCURRENCY": "16", "CRAWL_AUTOTHROTTLE_MAX_DELAY": "0"}
    started, cpu, server_cpu = time.perf_counter(), _children_cpu(), site.cpu_seconds()
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    subprocess.run([sys.executable, *profile, str(ROOT / "manage.py"), "crawl", "bench"], env=env, check=True)
    crawl_wall, crawl_cpu = time.perf_counter() - started, _children_cpu() - cpu
    server_cpu = site.cpu_seconds() - server_cpu
    from crawlers.models import CrawlRun  # noqa: PLC0415
    run = CrawlRun.objects.get()
    crawl_seconds = (run.finished_at - run.started_at).total_seconds()
    queued = queue.llen("nlp")

    with tempfile.TemporaryDirectory() as tmp:
        listing = []
        for path, html in pages:
            file = Path(tmp) / path.strip("/").replace("/", "_")
            file.write_text(html)
            listing.append((base + path, str(file)))
        manifest = Path(tmp) / "pages.json"
        import json  # noqa: PLC0415
        manifest.write_text(json.dumps(listing))
        started, cpu = time.perf_counter(), _children_cpu()
        out = subprocess.run([sys.executable, "-c", FLOOR, str(manifest)], env=env, check=True,
                             capture_output=True, text=True, cwd=ROOT)
        floor_wall, floor_cpu = time.perf_counter() - started, _children_cpu() - cpu
    floor = json.loads(out.stdout.strip().splitlines()[-1])
    site.close()
    queue.delete("nlp")  # nobody will run them

    saved = run.counts.get("saved", 0)
    table = Table(title=f"Crawl vs extraction floor, {args.pages} pages ({os.cpu_count()} cores)")
    for column in ("", "pages", "seconds", "pages/s", "wall s (process)", "CPU s (process)"):
        table.add_column(column, justify="right")
    crawl_rate, floor_rate = saved / crawl_seconds, floor["found"] / floor["seconds"]
    table.add_row("full crawl (saved)", str(saved), f"{crawl_seconds:.1f}", f"{crawl_rate:.1f}", f"{crawl_wall:.1f}",
                  f"{crawl_cpu:.1f}")
    table.add_row("extraction only", str(floor["found"]), f"{floor['seconds']:.1f}", f"{floor_rate:.1f}", f"{floor_wall:.1f}",
                  f"{floor_cpu:.1f}")
    console.print(table)
    console.print(f"outcomes: {run.counts}; enrichment tasks queued on Redis: {queued}")
    console.print(f"the bench's HTTP server used {server_cpu:.2f} CPU s during the crawl (not counted above)")
    console.print(f"ratio crawl/extraction: [bold]{crawl_rate / floor_rate:.0%}[/bold] (goal >= 50%)")
    if saved != args.pages:
        sys.exit(f"Only {saved} of {args.pages} pages were saved: {run.counts}")


if __name__ == "__main__":
    main()
