"""Enrichment throughput through a real Celery worker on Redis, against the raw embedding floor.

Makes N distinct articles by recombining the corpus's paragraphs (same language), queues them in
batches of 32 to a real worker (one process, -P solo, the model's default threads: all cores), and times until
every one is enriched. Then, in this process with the worker stopped, it times the embedding forward
pass alone on the very passages the worker embedded, with the same batch size and threads. Both run
cold: the worker has enriched nothing of these before and nothing is cached. It also times one
article of 1 MB of text.

Run (needs PostgreSQL and Redis):
  psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE contentlib_bench'
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/contentlib_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \
    .venv/bin/python bench/enrich.py --articles 1000
"""
import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from contentlib import corpus  # noqa: E402
from contentlib.config.celery import app  # noqa: E402
from contentlib.models import Article, Source  # noqa: E402
from contentlib.text import content_hash  # noqa: E402
from recommender import embeddings, services  # noqa: E402

BATCH = 32


def recombined(count: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(title, text, language) for `count` distinct articles built from corpus paragraphs."""
    rng = random.Random(seed)
    by_lang: dict[str, list] = {"zh": [], "en": []}
    for a in corpus.articles():
        by_lang[a.lang].append(a)
    out, seen = [], set()
    while len(out) < count:
        lang = "zh" if rng.random() < 0.7 else "en"
        parts = rng.sample(by_lang[lang], 4)
        paragraphs = [rng.choice(p.paragraphs) for p in parts] + rng.sample(parts[0].paragraphs, 3)
        title = f"{parts[0].title}（{len(out) + 1}）" if lang == "zh" else f"{parts[0].title} ({len(out) + 1})"
        text = "\n".join(paragraphs)
        if text not in seen:
            seen.add(text)
            out.append((title, text, lang))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    console = Console()
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("bench/enrich.py needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... (see the docstring).")

    call_command("migrate", verbosity=0)
    source, _ = Source.objects.get_or_create(slug="bench-enrich", defaults={"name": "bench/enrich.py"})
    Article.objects.filter(source=source).delete()
    rows = [Article(title=t, text=x, language=lang, origin="generated", source=source, content_hash=content_hash(t, x))
            for t, x, lang in recombined(args.articles + 1)]
    Article.objects.bulk_create(rows, batch_size=500)
    ids = list(Article.objects.filter(source=source).order_by("id").values_list("id", flat=True))
    warmup, ids = ids[0], ids[1:]
    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues:
            queue.bind(conn).purge()

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "contentlib.config", "worker", "-Q", "nlp", "-P", "solo",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )
    try:
        with console.status("Starting the worker and loading the embedding model (not timed)"):
            app.signature("recommender.tasks.enrich_batch", args=[[warmup]]).delay()
            while Article.objects.get(id=warmup).enrichment_status != "done":
                time.sleep(0.2)
        started = time.perf_counter()
        for i in range(0, len(ids), BATCH):
            app.signature("recommender.tasks.enrich_batch", args=[ids[i:i + BATCH]]).delay()
        with Progress(TextColumn("Worker enriching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("", total=len(ids))
            while True:
                done = Article.objects.filter(id__in=ids, enrichment_status__in=["done", "failed"]).count()
                bar.update(task, completed=done)
                if done == len(ids):
                    break
                time.sleep(0.25)
        full_seconds = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    articles = list(Article.objects.filter(id__in=ids).only("title", "summary", "text"))
    passages = [embeddings.article_passage(title=a.title, summary=a.summary, text=a.text) for a in articles]
    encoder = embeddings.encoder()
    encoder.encode(passages[:BATCH])  # load and warm up, as the worker did before timing
    started = time.perf_counter()
    with console.status("Raw embedding forward pass on the same passages"):
        for i in range(0, len(passages), BATCH):
            encoder.encode(passages[i:i + BATCH], batch_size=BATCH)
    raw_seconds = time.perf_counter() - started

    big = Article.objects.create(title="一兆字节的文章", text=("冷链物流的温控数据接入运输管理系统。" * 60000)[:1_000_000],
                                 origin="generated", source=source, content_hash="b" * 64)
    started = time.perf_counter()
    outcome = services.article_enrich(article_id=big.id)
    big_seconds = time.perf_counter() - started

    full_rate, raw_rate = len(ids) / full_seconds * 60, len(passages) / raw_seconds * 60
    threads = os.environ.get("OMP_NUM_THREADS", f"{os.cpu_count()} (all cores)")
    table = Table(title=f"Enrichment of {len(ids)} recombined articles (model {encoder.name}, batch {BATCH}, "
                        f"threads {threads})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("full enrichment through the worker", f"{full_rate:,.0f} articles/min ({full_seconds:.1f} s)")
    table.add_row("raw embedding forward pass (floor)", f"{raw_rate:,.0f} articles/min ({raw_seconds:.1f} s)")
    table.add_row("ratio full / raw", f"{full_rate / raw_rate:.0%}")
    table.add_row("one 1 MB article, in process", f"{big_seconds:.2f} s ({outcome})")
    console.print(table)
    Article.objects.filter(source=source).delete()


if __name__ == "__main__":
    main()
