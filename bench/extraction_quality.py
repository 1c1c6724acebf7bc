"""Extraction on real pages against plain trafilatura; on the demo pages; near-duplicate precision/recall.

    .venv/bin/python bench/extraction_quality.py [--benchmark DIR] [--pages] [--only-real]

Real pages: the article-extraction benchmark in DIR (default ../shared/extraction-benchmark:
html/<id>.html.gz and ground-truth.json), scored with its own metric (shingle_scores below) for
the project's extraction (crawlers.extraction.extract_page) and, in the same run on the same pages,
plain `trafilatura.extract(html)` with default options. --pages lists every page's scores for both.

Pages: every article page of fixtures/demo_site/public (known text: the corpus article) and every
article page of the crawl-test site (tests/crawlers/site.py), decoded and extracted exactly as the
crawler does (crawlers.encoding.decode_html, crawlers.extraction.extract_page). Units: characters
for Chinese (white space ignored), words for English; bag-of-units overlap (multiset intersection).
Near-duplicates: every pair of corpus articles and near_duplicates/, flagged when they share an LSH
band and their estimated Jaccard reaches CRAWL_NEAR_DUPLICATE_THRESHOLD; positives are the
`duplicate_of` pairs; same-template pairs (`template_group`) are negatives that must stay unflagged.
"""
import argparse
import gzip
import itertools
import json
import logging
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402
import trafilatura  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from contentlib import corpus  # noqa: E402
from contentlib import dedup  # noqa: E402
from crawlers.encoding import decode_html  # noqa: E402
from crawlers.extraction import extract_page  # noqa: E402
from tests.crawlers.site import PAGE_ARTICLES, build_routes  # noqa: E402

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
_TOKEN = re.compile(r"\w+")
DEFAULT_BENCHMARK = ROOT.parent / "shared" / "extraction-benchmark"


def shingles(text: str, n: int = 4) -> Counter:
    """The text's multiset of n-token shingles; tokens are the matches of \\w+ (a shorter text is one shingle)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def shingle_scores(truth: str, prediction: str) -> tuple[float, float, float]:
    """Returns the page's (TP, FP, FN) over shingles, divided by their sum so that long pages weigh no more."""
    want, got = shingles(truth), shingles(prediction)
    tp, fp, fn = sum((want & got).values()), sum((got - want).values()), sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def page_precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else tp / (tp + fp)


def page_recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else tp / (tp + fn)


def benchmark_metrics(scores: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Returns (precision, recall, F1): means over pages (precision over pages with TP+FP > 0, recall
    over pages with TP+FN > 0), and F1 of the two means, as the benchmark's README defines them."""
    precision = statistics.mean(page_precision(*s) for s in scores if s[0] + s[1] > 0)
    recall = statistics.mean(page_recall(*s) for s in scores if s[0] + s[2] > 0)
    return precision, recall, 2 * precision * recall / (precision + recall)


def real_pages(console: Console, directory: Path, show_pages: bool) -> None:
    truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    extractors = {
        "project (crawlers.extraction.extract_page)": lambda html, url: (page.text if (page := extract_page(html, url)) else ""),
        "plain trafilatura.extract(html)": lambda html, url: trafilatura.extract(html) or "",
    }
    scores = {name: {} for name in extractors}
    cpu = dict.fromkeys(extractors, 0.0)  # seconds of this thread's CPU, so that other load counts less
    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # its warnings about empty links would hide the bar
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{len(truth)} real pages", total=len(truth))
        for page_id, expected in sorted(truth.items()):
            html = gzip.decompress((directory / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
            for name, extract in extractors.items():
                started = time.thread_time()
                text = extract(html, expected.get("url", ""))
                cpu[name] += time.thread_time() - started
                scores[name][page_id] = shingle_scores(expected.get("articleBody", ""), text)
            progress.advance(task)
    table = Table(title=f"Extraction on {len(truth)} real pages ({directory.name}): 4-token shingles, mean per page")
    for column in ("extractor", "pages", "precision", "recall", "F1", "CPU ms/page"):
        table.add_column(column, justify="right" if column != "extractor" else "left")
    for name in extractors:
        p, r, f1 = benchmark_metrics(list(scores[name].values()))
        table.add_row(name, str(len(truth)), f"{p:.4f}", f"{r:.4f}", f"{f1:.4f}", f"{cpu[name] / len(truth) * 1000:.0f}")
    console.print(table)
    if show_pages:
        ours, plain = (scores[name] for name in extractors)
        pages = Table(title="Per page, the project's worst F1 first")
        for column in ("page", "url", "project P", "project R", "plain P", "plain R"):
            pages.add_column(column)
        for page_id in sorted(ours, key=lambda i: page_f1(ours[i])):
            cells = [f"{value:.3f}" for s in (ours[page_id], plain[page_id]) for value in page_scores(s)]
            pages.add_row(page_id[:12], truth[page_id].get("url", "")[:70], *cells)
        console.print(pages)


def page_scores(s: tuple[float, float, float]) -> tuple[float, float]:
    """A page's precision and recall (0 where the benchmark leaves the page out of the mean)."""
    return (page_precision(*s) if s[0] + s[1] else 0.0), (page_recall(*s) if s[0] + s[2] else 0.0)


def page_f1(s: tuple[float, float, float]) -> float:
    p, r = page_scores(s)
    return 2 * p * r / (p + r) if p + r else 0.0


def units(text: str, lang: str) -> Counter:
    if lang == "zh":
        return Counter(ch for ch in text if not ch.isspace())
    return Counter(w.lower() for w in _WORD.findall(text))


def score(extracted: str, known: str, lang: str) -> tuple[int, int, int]:
    got, want = units(extracted, lang), units(known, lang)
    return sum((got & want).values()), sum(got.values()), sum(want.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK,
                        help="directory with html/<id>.html.gz and ground-truth.json")
    parser.add_argument("--pages", action="store_true", help="every real page's scores")
    parser.add_argument("--only-real", action="store_true", help="the real pages only")
    args = parser.parse_args()
    console = Console()
    if args.benchmark.is_dir():
        real_pages(console, args.benchmark, args.pages)
    else:
        console.print(f"[yellow]No benchmark at {args.benchmark}: real pages skipped (--benchmark DIR)")
    if args.only_real:
        return
    by_id = {a.id: a for a in corpus.articles() + corpus.near_duplicates()}
    cases = []  # (set name, lang, html, url, known text)
    for path in sorted((ROOT / "fixtures/demo_site/public/articles").glob("[a-z][a-z]-*.html")):
        article = by_id[path.stem]
        cases.append(("demo site", article.lang, path.read_bytes(), "", f"http://127.0.0.1:8001/articles/{path.name}",
                      article.title + "\n" + "\n".join(article.paragraphs)))
    routes = build_routes("http://127.0.0.1:9")
    for route_path, corpus_id in PAGE_ARTICLES.items():
        article, route = by_id[corpus_id], routes[route_path]
        cases.append(("crawl-test site", article.lang, route.body, route.content_type, "http://127.0.0.1:9" + route_path,
                      article.title + "\n" + "\n".join(article.paragraphs)))

    totals = defaultdict(lambda: [0, 0, 0, 0])
    for name, lang, body, content_type, url, known in cases:
        html, _ = decode_html(body, content_type)
        page = extract_page(html, url)
        hit, got, want = score(page.text if page else "", known, lang)
        for key in ((name, lang), ("all", lang)):
            t = totals[key]
            t[0] += hit
            t[1] += got
            t[2] += want
            t[3] += 1
    table = Table(title="Extraction vs known main text (micro-averaged; zh: characters, en: words)")
    for column in ("pages of", "lang", "pages", "precision", "recall"):
        table.add_column(column, justify="right")
    for (name, lang), (hit, got, want, n) in sorted(totals.items()):
        table.add_row(name, lang, str(n), f"{hit / got:.3f}", f"{hit / want:.3f}")
    console.print(table)

    threshold = settings.CRAWL_NEAR_DUPLICATE_THRESHOLD
    sig = {a.id: dedup.minhash(a.title + "\n" + a.body, a.lang, settings.CRAWL_MINHASH_PERMUTATIONS) for a in by_id.values()}
    keys = {k: set(dedup.band_keys(v, threshold)) for k, v in sig.items()}
    positives = {frozenset((a.id, a.duplicate_of)) for a in corpus.near_duplicates()}
    groups = defaultdict(list)
    for a in corpus.articles():
        if a.template_group:
            groups[a.template_group].append(a.id)
    templates = {frozenset(p) for ids in groups.values() for p in itertools.combinations(ids, 2)}
    flagged = {frozenset((a, b)) for a, b in itertools.combinations(sig, 2)
               if keys[a] & keys[b] and sig[a].jaccard(sig[b]) >= threshold}
    tp = len(flagged & positives)
    near = Table(title=f"Near-duplicates: {len(sig)} texts, {len(sig) * (len(sig) - 1) // 2} pairs, threshold {threshold}")
    for column in ("labelled pairs", "template pairs", "flagged", "precision", "recall", "template pairs flagged"):
        near.add_column(column, justify="right")
    near.add_row(str(len(positives)), str(len(templates)), str(len(flagged)),
                 f"{tp / len(flagged) if flagged else 1:.3f}", f"{tp / len(positives):.3f}", str(len(flagged & templates)))
    console.print(near)


if __name__ == "__main__":
    main()
