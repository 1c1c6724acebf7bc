"""Co-occurrence models at scale: build the three models (query→query, query→article,
article→article) from 5,000,000 events over 100,000 distinct queries and 100,000 articles, then
look up related searches.

    .venv/bin/python bench/cooccurrence.py [--events 5000000] [--queries 100000] [--articles 100000] [--lookups 20000]

Events are synthetic and streamed as the log's rows would be (reader key, ad day, kind, query,
article id, time): sessions of 1–9 events (mean 5), each from one of 5,000 themes of 20 queries and
20 articles (every query and article in one theme), with 20% of events drawn from everything by a Zipf law, so that pairs have the long
tail real traffic has. Timed: reading the rows into arrays (`events_from_rows`), building and
scoring the three models (`models_build`), packing them into the stored blob, loading the blob
(`Cooccurrence`), and `related_queries` for random logged queries (p50, p99). Peak memory is the
process's maximum resident set size (ru_maxrss). The database write of the blob is not timed.
"""
import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows(n_events: int, n_queries: int, n_articles: int, seed: int = 1):
    """Yields synthetic log rows, session after session."""
    rng = np.random.default_rng(seed)
    # Each query and each article belongs to one theme of 20, so every one of them is drawn.
    themes = max(1, min(n_queries, n_articles) // 20)
    theme_queries = rng.permutation(n_queries)[:themes * 20].reshape(themes, 20)
    theme_articles = rng.permutation(n_articles)[:themes * 20].reshape(themes, 20)
    zipf_q = np.minimum(rng.zipf(1.3, size=n_events), n_queries) - 1
    zipf_a = np.minimum(rng.zipf(1.3, size=n_events), n_articles) - 1
    noise = rng.random(n_events) < 0.2
    is_query = rng.random(n_events) < 0.5
    pick = rng.integers(0, 20, size=n_events)
    query_text = [f"查询{n}" for n in range(n_queries)]
    day = dt.date(2026, 11, 30)
    base = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc).timestamp()
    produced, session = 0, 0
    while produced < n_events:
        length = min(int(rng.integers(1, 10)), n_events - produced)
        theme = int(rng.integers(0, themes))
        reader = f"reader-{session:09d}"
        for offset in range(length):
            i = produced + offset
            at = base + offset * 60.0
            if is_query[i]:
                q = int(zipf_q[i]) if noise[i] else int(theme_queries[theme, pick[i]])
                yield reader, day, "search", query_text[q], None, at
            else:
                a = int(zipf_a[i]) if noise[i] else int(theme_articles[theme, pick[i]])
                yield reader, day, "article_view", "", a + 1, at
        produced += length
        session += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
    os.environ.setdefault("LOCAL_SECRET_KEY", "1")
    import django

    django.setup()
    from recommender.cooccurrence import BuildParams, Cooccurrence, _pack, events_from_rows, models_build

    figures = {}
    started = time.perf_counter()
    events = events_from_rows(rows(args.events, args.queries, args.articles))
    figures["read rows into arrays"] = time.perf_counter() - started
    t = time.perf_counter()
    built = models_build(events, BuildParams())
    figures["build and score the three models"] = time.perf_counter() - t
    t = time.perf_counter()
    blob = _pack(events, built)
    figures["pack"] = time.perf_counter() - t
    total = time.perf_counter() - started
    t = time.perf_counter()
    model = Cooccurrence(1, blob)
    figures["load the stored model"] = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rng = np.random.default_rng(2)
    asked = [model.queries[i] for i in rng.integers(0, len(model.queries), size=args.lookups)]
    timings = []
    for query in asked:
        t = time.perf_counter_ns()
        model.related_queries(query, limit=10)
        timings.append((time.perf_counter_ns() - t) / 1e6)
    timings = np.asarray(timings)

    print(f"events {len(events.session):,}  sessions {built['sessions']:,}  queries {len(events.queries):,}  "
          f"articles {len(events.articles):,}  load average {os.getloadavg()[0]:.2f}")
    print(f"scored pairs: " + ", ".join(f"{name} {built[name][0].nnz:,}" for name in ("qq", "qa", "aa"))
          + f"  stored blob {len(blob) / 2**20:.0f} MB")
    print("| step | seconds |\n|---|---|")
    for name, seconds in figures.items():
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **read + build + pack** | **{total:.1f}** |")
    print(f"peak memory (max RSS) {peak_mb:,.0f} MB")
    print(f"related_queries: p50 {np.percentile(timings, 50):.3f} ms  p99 {np.percentile(timings, 99):.3f} ms  "
          f"max {timings.max():.3f} ms over {len(timings):,} look-ups")


if __name__ == "__main__":
    main()
