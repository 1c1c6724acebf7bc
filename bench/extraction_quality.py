"""Extraction precision/recall against each article's known main text, and near-duplicate precision/recall.

    .venv/bin/python bench/extraction_quality.py

Pages: every article page of fixtures/demo_site/public (known text: the corpus article) and every
article page of the crawl-test site (tests/crawlers/site.py), decoded and extracted exactly as the
crawler does (crawlers.encoding.decode_html, crawlers.extraction.extract_page). Units: characters
for Chinese (white space ignored), words for English; bag-of-units overlap (multiset intersection).
Near-duplicates: every pair of corpus articles and near_duplicates/, flagged when they share an LSH
band and their estimated Jaccard reaches CRAWL_NEAR_DUPLICATE_THRESHOLD; positives are the
`duplicate_of` pairs; same-template pairs (`template_group`) are negatives that must stay unflagged.
"""
import itertools
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from contentlib import corpus  # noqa: E402
from contentlib import dedup  # noqa: E402
from crawlers.encoding import decode_html  # noqa: E402
from crawlers.extraction import extract_page  # noqa: E402
from tests.crawlers.site import PAGE_ARTICLES, build_routes  # noqa: E402

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")


def units(text: str, lang: str) -> Counter:
    if lang == "zh":
        return Counter(ch for ch in text if not ch.isspace())
    return Counter(w.lower() for w in _WORD.findall(text))


def score(extracted: str, known: str, lang: str) -> tuple[int, int, int]:
    got, want = units(extracted, lang), units(known, lang)
    return sum((got & want).values()), sum(got.values()), sum(want.values())


def main() -> None:
    console = Console()
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
