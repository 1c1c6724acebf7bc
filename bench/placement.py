"""Placement auction latency with the vectors given: p50 and p99 of `placement_auction` over a
large book of campaigns, warm (the campaign book built, the segmenter loaded).

    .venv/bin/python bench/placement.py [--campaigns 10000] [--keywords 50] [--articles 100000] [--auctions 2000]

A throw-away SQLite database (or DATABASE_URL with --database-url) in a temporary folder gets
`--articles` library articles, of which one per campaign is an advertiser's promoted article with a
384-dimension embedding and its tokens; `--campaigns` active campaigns (five per advertiser), each
with `--keywords` approved keywords (phrase, broad and exact, some with their own bid, a few
negatives) made from the fixture corpus's own words, so that questions match hundreds of them.
SEARCH_BACKEND is the embedded one; the auction reads no search index (the vectors come with the
answer), so none is built. Questions are the judged sponsored questions plus phrases of the same
words, each with a random unit vector as its question and answer vectors.

Timed: `placement_auction` end to end (lexicon check, matching, the state read of the matched
campaigns, scoring, pricing, the log row) and `auction_run` alone (no database). The load average
is printed with the figures: the machine's two cores are shared.
"""
import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--keywords", type=int, default=50)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--auctions", type=int, default=2000)
    parser.add_argument("--database-url", default="", help="default: a throw-away SQLite file")
    args = parser.parse_args()
    work = tempfile.TemporaryDirectory(prefix="bench-placement-")
    os.environ.update({"DATABASE_URL": args.database_url or f"sqlite:///{work.name}/bench.sqlite3",
                       "DATA_DIR": work.name, "LOCAL_SECRET_KEY": "1", "SEARCH_BACKEND": "embedded",
                       "AD_AUCTION_BOOK_SECONDS": "3600", "DJANGO_SETTINGS_MODULE": "contentlib.config.settings"})
    os.environ.pop("CELERY_BROKER_URL", None)

    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    words = vocabulary()
    started = time.perf_counter()
    counts = load(args, words)
    load_seconds = time.perf_counter() - started
    run(args, words, counts, load_seconds, timezone)
    work.cleanup()


def vocabulary() -> list[str]:
    """The fixture corpus's Chinese and English words of two or more characters, most frequent first."""
    from collections import Counter  # noqa: PLC0415

    from contentlib import corpus  # noqa: PLC0415
    from recommender.text import tokenize  # noqa: PLC0415

    counts = Counter()
    for article in corpus.articles():
        counts.update(t for t in tokenize(article.title + "\n" + article.body) if len(t) >= 2 and not t.isdigit())
    return [w for w, _ in counts.most_common(6000)]


def load(args, words: list[str]) -> dict:
    from decimal import Decimal  # noqa: PLC0415

    from django.db import transaction  # noqa: PLC0415

    from ads.models import Advertiser, Campaign, CampaignKeyword, Promotion, Review  # noqa: PLC0415
    from contentlib.models import Article  # noqa: PLC0415
    from recommender.embeddings import to_bytes  # noqa: PLC0415

    rng = random.Random(14)
    np_rng = np.random.default_rng(14)
    today = __import__("datetime").date.today()
    with transaction.atomic():
        advertisers = Advertiser.objects.bulk_create(
            [Advertiser(name=f"企业{n:05d}", balance=Decimal("100000.00")) for n in range(args.campaigns // 5 + 1)],
            batch_size=2000)
        promoted_ids = []
        batch = []
        for n in range(args.articles):
            owner = advertisers[n // 5] if n < args.campaigns else None
            body = rng.sample(words[:3000], 40)
            vector = None
            if owner is not None:
                v = np_rng.standard_normal(384).astype(np.float32)
                vector = to_bytes(v / np.linalg.norm(v))
            batch.append(Article(title=" ".join(body[:4]), text="".join(body), origin=Article.Origin.SUBMITTED
                                 if owner else Article.Origin.CRAWLED, owner=owner, status=Article.Status.APPROVED,
                                 language="zh", tokens=" ".join(body), embedding=vector, content_hash=f"h{n}"))
            if len(batch) == 5000:
                created = Article.objects.bulk_create(batch)
                promoted_ids += [a.id for a in created if a.owner_id]
                batch = []
        if batch:
            promoted_ids += [a.id for a in Article.objects.bulk_create(batch) if a.owner_id]
        campaigns = Campaign.objects.bulk_create([
            Campaign(advertiser=advertisers[n // 5], name=f"推广{n:05d}", pricing="cpm" if n % 6 == 0 else "cpc",
                     max_bid=Decimal("20.00") if n % 6 == 0 else Decimal(f"{1 + n % 40 / 10:.2f}"),
                     daily_budget=Decimal("500.00"), total_budget=Decimal("10000.00"), start_date=today,
                     status=Campaign.Status.ACTIVE) for n in range(args.campaigns)], batch_size=2000)
        Promotion.objects.bulk_create([Promotion(campaign=c, article_id=a, review=Review.APPROVED)
                                       for c, a in zip(campaigns, promoted_ids, strict=False)], batch_size=5000)
        keywords = []
        for c in campaigns:
            texts = set()
            while len(texts) < args.keywords:
                first = rng.choice(words[:4000])
                texts.add(first if rng.random() < 0.6 else first + rng.choice(words[:2000]))
            for i, text in enumerate(sorted(texts)):
                negative = i < 2
                match = "phrase" if negative else rng.choice(("phrase", "phrase", "broad", "exact"))
                keywords.append(CampaignKeyword(campaign=c, text=text, match_type=match, negative=negative,
                                                review=Review.APPROVED,
                                                bid=Decimal("2.00") if i % 10 == 3 and c.pricing == "cpc" else None))
            if len(keywords) >= 50_000:
                CampaignKeyword.objects.bulk_create(keywords, batch_size=5000)
                keywords = []
        CampaignKeyword.objects.bulk_create(keywords, batch_size=5000)
    return {"advertisers": len(advertisers), "articles": Article.objects.count(), "campaigns": len(campaigns),
            "keywords": CampaignKeyword.objects.count(), "promotions": Promotion.objects.count()}


def run(args, words, counts, load_seconds, timezone) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from ads import auction, sponsored  # noqa: PLC0415
    from ads.models import AuctionLog, Placement  # noqa: PLC0415
    from recommender.lexicon import segmenter_refresh  # noqa: PLC0415

    rng = random.Random(7)
    np_rng = np.random.default_rng(7)
    questions = [q.question for q in sponsored.judged_set().questions]
    questions += [f"{rng.choice(words[:3000])}{rng.choice(words[:3000])}怎么选 {rng.choice(words[:1000])}"
                  for _ in range(600)]
    answers = ["".join(rng.sample(words[:3000], 30)) for _ in range(50)]

    def unit():
        v = np_rng.standard_normal(384).astype(np.float32)
        return v / np.linalg.norm(v)

    vectors = [(unit(), unit()) for _ in range(len(questions))]
    placement = Placement.objects.get(slug="question")
    started = time.perf_counter()
    book = auction.book_current(segmenter_refresh())
    build_seconds = time.perf_counter() - started
    now = timezone.now()

    def one(i, full=True):
        q = questions[i % len(questions)]
        qv, av = vectors[i % len(vectors)]
        if full:
            return auction.placement_auction(placement=placement, question=q, answer_text=answers[i % len(answers)],
                                             question_vector=qv, answer_vector=av, now=now, reader="bench")
        return auction.auction_run(book, terms=auction.Terms.of(placement), question=q,
                                   answer_text=answers[i % len(answers)], question_vector=qv, answer_vector=av, now=now)

    for i in range(50):  # warm-up
        one(i)
    timings = {"placement_auction (end to end)": [], "auction_run (no database)": []}
    candidates = []
    for i in range(args.auctions):
        t = time.perf_counter()
        result = one(i)
        timings["placement_auction (end to end)"].append(time.perf_counter() - t)
        candidates.append(result.candidates)
        t = time.perf_counter()
        one(i, full=False)
        timings["auction_run (no database)"].append(time.perf_counter() - t)
    load = os.getloadavg()
    table = Table(title=f"Placement auction, {counts['campaigns']:,} campaigns × {args.keywords} keywords "
                        f"({counts['keywords']:,} rows), {counts['articles']:,} articles, {args.auctions} auctions, warm")
    for column in ("what", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right" if column != "what" else "left")
    for name, values in timings.items():
        ms = np.array(values) * 1000
        table.add_row(name, *(f"{np.quantile(ms, p):.2f}" for p in (0.5, 0.9, 0.99)), f"{ms.max():.2f}")
    console = Console()
    console.print(table)
    console.print(f"candidates per auction: median {int(np.median(candidates))}, p99 {int(np.quantile(candidates, 0.99))}, "
                  f"max {max(candidates)}; slots filled in {sum(1 for log in AuctionLog.objects.filter(filled__gt=0).only('id'))}"
                  f" of {AuctionLog.objects.count()} logged auctions")
    console.print(f"data load {load_seconds:.0f} s; campaign book build {build_seconds:.1f} s "
                  f"({len(book.matcher.rules):,} keyword rules); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
