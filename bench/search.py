"""Search benchmark on the embedded backend: 100,000 articles recombined from the fixture corpus.

    .venv/bin/python bench/search.py [--articles 100000] [--queries 1000] [--exact] [--lance-only]

Articles are built by recombining fixture sentences of one language (so term statistics stay
realistic); their vectors are random normalized mixtures of the fixtures' real embeddings (nothing
is re-encoded). 80% are published; every query runs with the approved-only filter and no cache.
Latencies exclude the query's embedding (its vector is given) but include segmentation.
Recall@10 (and @50, the candidate depth of hybrid fusion) compares the vector index's answers with an
exact scan of the same vectors under the same filter. The load average is printed with the figures:
the exact part of the search is memory-bound, so figures from a loaded machine are not comparable.
Queries are answered by the process's in-memory copy of the index (tantivy + hnswlib, built in the
background from Lance); the bench waits for it, reports how long it took and how long it takes to
follow a one-article commit. `--lance-only` measures Lance answering, as it does while the copy
catches up after a commit.
"""
import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

import django  # noqa: E402

django.setup()

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from contentlib import corpus  # noqa: E402
from recommender.retrieval import retrieve  # noqa: E402
from recommender.search import embedded, memory, relevance  # noqa: E402
from recommender.search.base import IndexDocument, SearchFilters  # noqa: E402
from recommender.search.embedded import EmbeddedBackend  # noqa: E402
from recommender.text import tokenize  # noqa: E402

_SENTENCE = re.compile(r"(?<=[。！？!?])|(?<=\. )")
CATEGORIES = ["ai-software", "exhibitions", "finance", "logistics", "medical", "manufacturing"]


def sentences_by_language(items) -> dict[str, list[list[str]]]:
    """Every fixture sentence as its tokens, grouped by language (segmented once)."""
    out: dict[str, list[list[str]]] = {}
    for item in items:
        for paragraph in [item.title, *item.paragraphs]:
            for sentence in _SENTENCE.split(paragraph):
                tokens = tokenize(sentence)
                if tokens:
                    out.setdefault(item.lang, []).append(tokens)
    return out


def make_documents(n: int, rng, sentences, base_vectors, languages) -> list[IndexDocument]:
    docs = []
    lang_names = sorted(sentences)
    lang_weights = np.array([0.8 if lang == "zh" else 0.2 for lang in lang_names])
    for doc_id in range(1, n + 1):
        lang = lang_names[rng.choice(len(lang_names), p=lang_weights / lang_weights.sum())]
        pool = sentences[lang]
        picks = rng.integers(0, len(pool), size=int(rng.integers(6, 16)))
        tokens = " ".join(" ".join(pool[i]) for i in picks)
        same_language = np.flatnonzero(languages == lang)
        mix = rng.choice(same_language, size=3, replace=False)
        vector = (rng.dirichlet(np.ones(3)) @ base_vectors[mix]).astype(np.float32)
        vector /= np.linalg.norm(vector)
        docs.append(IndexDocument(
            id=doc_id, tokens=tokens, title=f"bench {doc_id}", language=lang,
            category=CATEGORIES[doc_id % len(CATEGORIES)], owner_id=None if doc_id % 7 else doc_id % 50,
            origin="crawled", status="approved" if rng.random() < 0.8 else "pending", vector=vector,
        ))
        docs[-1].published = docs[-1].status == "approved"
    return docs


def make_queries(count: int, rng, sentences, judged, query_vectors, base_vectors) -> list[tuple[str, np.ndarray]]:
    """The judged queries, then random 2-4 token phrases from fixture sentences, all distinct."""
    out: dict[str, np.ndarray] = {q.query: query_vectors[q.id] for q in judged}
    pools = [tokens for group in sentences.values() for tokens in group if len(tokens) >= 4]
    while len(out) < count:
        tokens = pools[int(rng.integers(0, len(pools)))]
        start = int(rng.integers(0, len(tokens) - 2))
        text = "".join(tokens[start:start + int(rng.integers(2, 5))]) if rng.random() < 0.8 else \
            " ".join(tokens[start:start + int(rng.integers(2, 5))])
        vector = base_vectors[int(rng.integers(0, len(base_vectors)))] + rng.normal(scale=0.02, size=base_vectors.shape[1])
        out.setdefault(text, (vector / np.linalg.norm(vector)).astype(np.float32))
    return list(out.items())


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99)), float(values.mean())


def vector_recall(backend: EmbeddedBackend, docs: list[IndexDocument], vectors, k: int, filters: SearchFilters) -> float:
    """Mean share of the exact top k (a numpy scan of every vector under the filter) that the index returns."""
    matrix = np.vstack([d.vector for d in docs])
    ids = np.array([d.id for d in docs])
    allowed = np.array([filters.matches(d) for d in docs])
    found = 0
    for vector in vectors:
        scores = matrix @ vector
        scores[~allowed] = -np.inf
        exact = {int(ids[row]) for row in np.argpartition(-scores, k - 1)[:k]}
        found += len(exact & {hit.id for hit in backend.vector(vector, k=k, filters=filters)})
    return found / (k * len(vectors))


def rss_mib() -> float:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for_copy(backend: EmbeddedBackend) -> float:
    """Seconds from a query on the live version until the in-memory copy holds it."""
    started = time.perf_counter()
    backend.search(["warm"], None, k=1)  # a query: Lance answers it and the copy starts catching up
    live = int(backend.info().generation)
    while backend.memory_ready() != live:
        if time.perf_counter() - started > 600:
            sys.exit(f"The in-memory copy did not reach version {live} in 10 minutes: {backend._memory.failed}")
        time.sleep(0.005)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--directory", help="build the index here and keep it (default: a temporary directory)")
    parser.add_argument("--exact", action="store_true",
                        help="no vector index: Lance's exact scan alone, to compare")
    parser.add_argument("--lance-only", action="store_true",
                        help="no in-memory copy: every query answered by Lance, as while the copy catches up")
    args = parser.parse_args()
    if args.exact:
        embedded.VECTOR_INDEX_MIN_ROWS = sys.maxsize
    if args.lance_only or args.exact:
        embedded.MEMORY_INDEX_MIN_ROWS = sys.maxsize
    console = Console()
    rng = np.random.default_rng(args.seed)

    console.print("Reading and segmenting the fixture corpus; embedding it once (cached)…")
    items = corpus.articles()
    sentences = sentences_by_language(items)
    rows = relevance.fixture_documents()[: len(items)]
    # The configured model (e5 by default; the library half of `composite` is fitted on the fixtures in memory).
    from recommender import library_vectors  # noqa: PLC0415
    from recommender.embeddings import encoder  # noqa: PLC0415

    model = encoder(library=library_vectors.fit([doc.tokens.split() for _, doc, _ in rows]))
    base_vectors = relevance._encode_cached(model, [p for _, _, p in relevance.fixture_documents()], "articles")[: len(items)]
    languages = np.array([doc.language for _, doc, _ in rows])
    judged = corpus.queries()
    query_vectors = dict(zip([q.id for q in judged], relevance._encode_cached(model, [q.query for q in judged], "queries", queries=True),
                             strict=True))

    with Progress(TextColumn("Generating articles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("", total=args.articles)
        docs = []
        for start in range(0, args.articles, 5000):
            docs.extend(make_documents(min(5000, args.articles - start), rng, sentences, base_vectors, languages))
            bar.update(task, advance=min(5000, args.articles - start))
        for new_id, doc in enumerate(docs, start=1):
            doc.id = new_id
    queries = make_queries(args.queries, rng, sentences, judged, query_vectors, base_vectors)

    with tempfile.TemporaryDirectory(prefix="bench-search-", dir=os.environ.get("TMPDIR")) as scratch:
        directory = args.directory or scratch
        backend = EmbeddedBackend(Path(directory))
        batches = [docs[i:i + 1000] for i in range(0, len(docs), 1000)]
        with Progress(TextColumn("Bulk indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("", total=len(docs))

            def stream():
                for batch in batches:
                    yield batch
                    bar.update(task, advance=len(batch))

            started = time.perf_counter()
            backend.rebuild(stream())
            bulk_seconds = time.perf_counter() - started

        # Incremental: one article per commit, as the index queue does after each approval.
        incremental = []
        for doc in docs[:50]:
            started = time.perf_counter()
            backend.upsert([doc])
            incremental.append(time.perf_counter() - started)

        # A reader process starting up opens the live version (Lance answers its first queries; the
        # copy it would start building is measured below, on `backend`, so not started here).
        fresh = EmbeddedBackend(Path(directory))
        threshold, embedded.MEMORY_INDEX_MIN_ROWS = embedded.MEMORY_INDEX_MIN_ROWS, sys.maxsize
        started = time.perf_counter()
        fresh.vector(queries[0][1], k=1)
        cold_open = time.perf_counter() - started
        embedded.MEMORY_INDEX_MIN_ROWS = threshold

        # The in-memory copy (memory.py): built in the background from the first query on; Lance
        # answers meanwhile. Then how long it takes to follow a one-article commit.
        copy_build = None
        catch_up: list[float] = []
        if not (args.lance_only or args.exact):
            rss_before = rss_mib()
            with console.status("Building the in-memory copy (tantivy + hnswlib) in the background…"):
                copy_build = wait_for_copy(backend)
            copy_memory = rss_mib() - rss_before
            with Progress(TextColumn("Following one-article commits"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task("", total=20)
                for doc in docs[50:70]:
                    backend.upsert([doc])
                    catch_up.append(wait_for_copy(backend))
                    bar.update(task, advance=1)

        filters = SearchFilters(published_only=True)
        recall = {depth: vector_recall(backend, docs, [v for _, v in queries], depth, filters) for depth in (10, 50)}
        load_before = os.getloadavg()
        timings: dict[str, list[float]] = {"lexical": [], "vector": [], "hybrid": []}
        end_to_end: list[float] = []
        with Progress(TextColumn("Querying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("", total=len(queries) * 3)
            for mode in timings:
                for text, vector in queries:
                    started = time.perf_counter()
                    retrieve(text, k=10, mode=mode, filters=filters, backend=backend, query_vector=vector,
                             check_database=False)
                    timings[mode].append(time.perf_counter() - started)
                    bar.update(task, advance=1)
        # End to end, as readers feel it: the query's own embedding (e5 by default) plus the hybrid
        # search, over queries this process has never seen (no cache can serve them).
        fresh_queries = [text for text, _ in make_queries(args.queries + 300, np.random.default_rng(args.seed + 1),
                                                          sentences, [], {}, base_vectors)
                         if text not in dict(queries)][:300]
        # As a reader's search runs: retrieve() encodes the query itself (on another thread while the
        # lexical side runs), with the model the index names.
        retrieve("warm up", k=10, mode="hybrid", filters=filters, backend=backend, check_database=False)
        for text in fresh_queries:
            started = time.perf_counter()
            retrieve(text, k=10, mode="hybrid", filters=filters, backend=backend, check_database=False)
            end_to_end.append(time.perf_counter() - started)
        load_after = os.getloadavg()
        graph = f"HNSW index, ef {embedded.HNSW_EF_SEARCH}" if "vector_idx" in backend._index_stats(
            backend._snapshot().articles) else "exact scan (no index)"
        answered_by = "Lance"
        if backend.memory_ready() == int(backend.info().generation):
            answered_by = "the in-memory copy (tantivy + hnswlib)"
            graph = f"in-memory hnswlib graph, ef {memory.HNSW_EF_SEARCH}"

    table = Table(title=f"Embedded search: {len(docs):,} articles (80% published), {len(queries):,} distinct "
                        "queries, approved-only filter, no cache")
    table.add_column("measure")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("mean ms", justify="right")
    for mode, samples in timings.items():
        p50, p99, mean = percentiles(samples)
        table.add_row(f"{mode} query (k=10, 50 candidates per ranking)", f"{p50:.2f}", f"{p99:.2f}", f"{mean:.2f}")
    p50, p99, mean = percentiles(end_to_end)
    table.add_row(f"end to end: encode the query ({model.name}) + hybrid, {len(end_to_end)} never-seen queries",
                  f"{p50:.2f}", f"{p99:.2f}", f"{mean:.2f}")
    p50, p99, mean = percentiles(incremental)
    table.add_row("incremental upsert, 1 article per commit", f"{p50:.2f}", f"{p99:.2f}", f"{mean:.2f}")
    console.print(table)
    summary = Table(title="Indexing and recall")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("bulk indexing (rebuild from stored tokens and vectors)",
                    f"{len(docs) / bulk_seconds:,.0f} articles/s ({bulk_seconds:.1f} s)")
    summary.add_row("reader cold start (open the live version)", f"{cold_open * 1000:.0f} ms")
    summary.add_row("queries answered by", answered_by)
    if copy_build is not None:
        summary.add_row("in-memory copy built (background, from the first query)",
                        f"{copy_build:.1f} s, +{copy_memory:,.0f} MiB resident")
        p50, p99, _ = percentiles(catch_up)
        summary.add_row(f"in-memory copy follows a 1-article commit ({len(catch_up)} commits), p50 / p99",
                        f"{p50:.0f} / {p99:.0f} ms")
    for depth, value in recall.items():
        summary.add_row(f"vector recall@{depth} vs exact ({graph}, approved-only)", f"{value:.4f}")
    summary.add_row("load average (1 min) before / after querying", f"{load_before[0]:.2f} / {load_after[0]:.2f}")
    console.print(summary)


if __name__ == "__main__":
    main()
