"""Time to answer a question not in the cache, through the one service (`answer_question`), with the
extractive provider: normalization, the question row, retrieval (the question's e5 encoding
included), the answer, its derived vector and the database writes.

    .venv/bin/python bench/answers.py [--repeat 1]

A throw-away SQLite database and data directory are made in a temporary folder; the fixture corpus
is saved through the library's services (an advertiser owning the articles the corpus marks), enriched
(e5 embeddings) and approved, as the site would have it. After one warm-up answer (the model loaded),
every judged query is asked once: each is a new question, so nothing comes from the cache. The load
average is printed with the figures: the machine's two cores are shared.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.TemporaryDirectory(prefix="bench-answers-")
os.environ.update({"DATABASE_URL": f"sqlite:///{WORK.name}/bench.sqlite3", "DATA_DIR": WORK.name,
                   "LLM_PROVIDER": "extractive", "LOCAL_SECRET_KEY": "1",
                   "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
os.environ.pop("CELERY_BROKER_URL", None)  # eager: enrichment and indexing run inline

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ads.models import Advertiser  # noqa: E402
from contentlib import corpus, services  # noqa: E402
from contentlib.models import Article  # noqa: E402
from recommender.answers.services import answer_question  # noqa: E402


def library_load() -> int:
    """The fixture corpus's articles saved, enriched and approved; returns how many."""
    items = corpus.articles()
    for item in items:
        article = services.article_upsert(
            title=item.title, text="\n".join(item.paragraphs), origin=Article.Origin.OPEN_DATA, language=item.lang,
            canonical_url=f"https://corpus.example.com/{item.id}", author=item.author).article
        if item.advertiser:
            owner, _ = Advertiser.objects.get_or_create(name=item.advertiser)
            services.article_set_owner(article_id=article.id, owner_id=owner.id)
        services.article_approve(article_id=article.id)
    return len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="ask every judged query this many times, "
                        "each time as a new question (a numbered suffix)")
    parser.add_argument("--profile", action="store_true", help="also print where the time goes (cProfile)")
    args = parser.parse_args()
    console = Console()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    count = library_load()
    console.print(f"{count} articles saved, enriched and approved in {time.perf_counter() - started:.0f} s")
    answer_question(question_text="warm-up: 模型加载")  # loads e5 and the segmenter's dictionary
    questions = list(dict.fromkeys(q.query for q in corpus.queries()))
    timings, no_answer = [], 0
    profiler = None
    if args.profile:
        import cProfile  # noqa: PLC0415

        profiler = cProfile.Profile()
        profiler.enable()
    for round_ in range(args.repeat):
        for text in questions:
            asked = text if round_ == 0 else f"{text} {round_}"
            began = time.perf_counter()
            answer = answer_question(question_text=asked)
            timings.append(time.perf_counter() - began)
            no_answer += answer.is_no_answer
    if profiler is not None:
        import pstats  # noqa: PLC0415

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    ms = np.array(timings) * 1000
    table = Table(title=f"answer_question, extractive, {len(timings)} questions not in the cache "
                        f"(load average {os.getloadavg()[0]:.1f})")
    for column in ("p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "no answer"):
        table.add_column(column, justify="right")
    table.add_row(f"{np.percentile(ms, 50):.0f}", f"{np.percentile(ms, 90):.0f}", f"{np.percentile(ms, 99):.0f}",
                  f"{ms.max():.0f}", f"{ms.mean():.0f}", f"{no_answer / len(timings):.0%}")
    console.print(table)


if __name__ == "__main__":
    main()
