"""Generated traffic for the demo and for measurement: reader sessions over the demo corpus.

Readers have interests (small themes of articles, mostly from one category, some from a second, and
the queries that lead to them); each session, one reader on one ad day, draws its searches, question
views and article reads from the reader's interests, with noise from the whole corpus and a
popularity bias (a Zipf law over a fixed random ranking of items).

This module knows nothing of the recommender: it yields plain events, and the command
(`manage.py generate_traffic`, site layer) writes them wherever they go. Its parameters live in
fixtures/traffic/params.yaml, one section per kind of traffic; `readers` is the first. Another kind
(ad impressions and clicks, say) is another section and another generator function yielding the
same `TrafficEvent`, listed in `GENERATORS`.
"""
import datetime as dt
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings

from contentlib import corpus
from contentlib.text import normalize_query

PARAMS_FILE = settings.BASE_DIR / "fixtures" / "traffic" / "params.yaml"


@dataclass(frozen=True)
class TrafficEvent:
    """One thing a reader did. `article` is a corpus article id (fixtures/corpus), not a database id."""

    reader_key: str
    at: dt.datetime
    kind: str  # search | question_view | article_view (the activity log's kinds)
    placement: str = ""
    query: str = ""  # normalized (normalize_query)
    article: str | None = None
    interest: int | None = None  # which interest drew it (None: noise); for measurement only
    # Sponsored slots (kind "ad_view"): what came of it, one of AD_OUTCOMES; and the price factor
    # (share of the campaign's max bid the auction charged).
    outcome: str = ""
    price_share: float = 1.0


@dataclass
class Interest:
    articles: list[str]
    queries: list[str]
    # query -> the interest's articles it leads to (judged relevant or carrying it as a keyword)
    leads_to: dict[str, list[str]] = field(default_factory=dict)


def params_load(path: Path | None = None) -> dict:
    """The generator's parameters (fixtures/traffic/params.yaml unless `path`)."""
    return yaml.safe_load(Path(path or PARAMS_FILE).read_text(encoding="utf-8"))


def _between(rng: random.Random, bounds) -> int:
    low, high = bounds
    return rng.randint(int(low), int(high))


class _Popularity:
    """A Zipf-law choice over a fixed random ranking of items: a few items are read by many."""

    def __init__(self, items: list[str], exponent: float, rng: random.Random):
        ranking = sorted(set(items))
        rng.shuffle(ranking)
        self.weight = {item: 1.0 / (rank + 1) ** exponent for rank, item in enumerate(ranking)}
        self.items = ranking
        self._all_weights = [self.weight[i] for i in ranking]

    def choice(self, rng: random.Random, among: list[str] | None = None) -> str:
        if among is None:
            return rng.choices(self.items, weights=self._all_weights)[0]
        return rng.choices(among, weights=[self.weight.get(i, 1e-6) for i in among])[0]


def corpus_links(root: Path | None = None) -> tuple[list[corpus.CorpusArticle], dict[str, set[str]]]:
    """The corpus's articles, and each normalized query's articles: the judged queries' relevant
    articles (grade 2 and up) and every article keyword's articles."""
    root = root or corpus.CORPUS_DIR
    articles = corpus.articles(root)
    known = {a.id for a in articles}
    links: dict[str, set[str]] = {}
    for judged in corpus.queries(root):
        relevant = {aid for aid, grade in judged.relevant.items() if grade >= 2 and aid in known}
        if relevant:
            links.setdefault(normalize_query(judged.query), set()).update(relevant)
    for article in articles:
        for keyword in article.keywords:
            text = normalize_query(keyword)
            if text:
                links.setdefault(text, set()).add(article.id)
    return articles, links


def interests_draw(params: dict, rng: random.Random, articles, links) -> list[Interest]:
    """Draws the themes readers care about: articles of a home category and some of a second one."""
    by_category: dict[str, list[str]] = {}
    for article in articles:
        by_category.setdefault(article.category, []).append(article.id)
    categories = sorted(by_category)
    interests = []
    for _ in range(int(params["interests"])):
        home, other = rng.sample(categories, 2)
        size = _between(rng, params["articles_per_interest"])
        crossing = sum(rng.random() < float(params["cross_category_share"]) for _ in range(size))
        crossing = min(crossing, size - 1, len(by_category[other]))
        chosen = rng.sample(by_category[home], min(size - crossing, len(by_category[home])))
        chosen += rng.sample(by_category[other], crossing)
        in_theme = set(chosen)
        leads_to = {query: sorted(targets & in_theme) for query, targets in links.items() if targets & in_theme}
        interests.append(Interest(articles=sorted(chosen), queries=sorted(leads_to), leads_to=leads_to))
    return interests


# Generated reader keys start with this (real ones are 32 hex digits), so that the command can replace
# every generated row, whatever day or seed wrote it, and never a real reader's.
KEY_PREFIX = "traffic-"


def _reader_key(seed: int, reader: int, day: dt.date) -> str:
    # Like contentlib.readers.reader_key: one reader on one ad day, nothing that names them.
    return KEY_PREFIX + hashlib.sha256(f"traffic:{seed}:{reader}:{day.isoformat()}".encode()).hexdigest()[:24]


def reader_sessions(params: dict, *, seed: int, until: dt.date | None = None,
                    root: Path | None = None) -> Iterator[TrafficEvent]:
    """Yields the events of every reader session, session after session, in time order within each."""
    rng = random.Random(seed)
    articles, links = corpus_links(root)
    interests = interests_draw(params, rng, articles, links)
    all_queries = sorted(links)
    article_ids = [a.id for a in articles]
    popularity = _Popularity(article_ids + all_queries, float(params["popularity_zipf"]), rng)
    interest_popularity = _Popularity([str(i) for i in range(len(interests))], float(params["popularity_zipf"]), rng)
    until = until or (dt.date.today() - dt.timedelta(days=1))
    days = [until - dt.timedelta(days=n) for n in range(int(params["days"]))]
    noise = float(params["noise"])
    zone = dt.timezone(dt.timedelta(hours=8))  # the demo's readers live in the business time zone

    for reader in range(int(params["count"])):
        mine = sorted({int(interest_popularity.choice(rng)) for _ in range(_between(rng, params["interests_per_reader"]))})
        for day in sorted(rng.sample(days, min(len(days), _between(rng, params["sessions_per_reader"])))):
            key = _reader_key(seed, reader, day)
            at = dt.datetime.combine(day, dt.time(rng.randint(7, 22), rng.randint(0, 59)), tzinfo=zone)
            theme_id = rng.choice(mine)
            theme = interests[theme_id]
            query = None
            for _ in range(_between(rng, params["queries_per_session"])):
                at += dt.timedelta(seconds=rng.randint(20, 300))
                if rng.random() < noise:
                    query, source = popularity.choice(rng, all_queries), None
                elif query is not None and query in theme.leads_to and rng.random() < float(params["stay_on_query"]):
                    source = theme_id  # rephrases within the theme: a query that leads to the same articles
                    near = [q for q in theme.queries if set(theme.leads_to[q]) & set(theme.leads_to[query]) and q != query]
                    query = popularity.choice(rng, near) if near else popularity.choice(rng, theme.queries)
                else:
                    query, source = popularity.choice(rng, theme.queries), theme_id
                yield TrafficEvent(key, at, "search", placement="search", query=query, interest=source)
                if rng.random() < float(params["question_view_share"]):
                    at += dt.timedelta(seconds=rng.randint(5, 60))
                    yield TrafficEvent(key, at, "question_view", placement="question", query=query, interest=source)
                for _ in range(_between(rng, params["reads_per_query"])):
                    at += dt.timedelta(seconds=rng.randint(10, 240))
                    if rng.random() < noise:
                        article, source = popularity.choice(rng, article_ids), None
                    else:
                        led = theme.leads_to.get(query) or theme.articles
                        article, source = popularity.choice(rng, led), theme_id
                    yield TrafficEvent(key, at, "article_view", placement="search", article=article, interest=source)


# What a sponsored view leads to (the `ads` section's shares; "view" is what is left).
AD_OUTCOMES = ("no_fill", "view", "viewable", "click", "convert", "bot_click", "fast_click", "ip_limit_click",
               "repeat_click")


def ad_views(params: dict, *, seed: int, until: dt.date | None = None, root: Path | None = None
             ) -> Iterator[TrafficEvent]:
    """Yields sponsored-slot views over the last `days` ad days (a weekly rhythm, growing slowly),
    each with its outcome drawn from the section's shares; the queries are the corpus's. Which
    campaign a view shows is the writer's to decide (this module knows nothing of campaigns)."""
    rng = random.Random(seed + 17)
    _articles, links = corpus_links(root)
    queries = sorted(links)
    popularity = _Popularity(queries, float(params.get("popularity_zipf", 1.1)), rng)
    until = until or (dt.date.today() - dt.timedelta(days=1))
    days = int(params["days"])
    zone = dt.timezone(dt.timedelta(hours=8))
    shares = [(name, float(params["outcomes"].get(name, 0))) for name in AD_OUTCOMES if name != "view"]
    for back in range(days - 1, -1, -1):
        day = until - dt.timedelta(days=back)
        weekday = 0.6 if day.weekday() >= 5 else 1.0  # fewer readers at the weekend
        growth = 1 + float(params.get("growth", 0.0)) * (days - back) / days
        count = int(_between(rng, params["views_per_day"]) * weekday * growth)
        for n in range(count):
            hour = rng.choices(range(9, 21), weights=[2, 4, 5, 4, 3, 4, 5, 5, 4, 3, 3, 2])[0]
            at = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=zone)
            draw, outcome = rng.random(), "view"
            for name, share in shares:
                if draw < share:
                    outcome = name
                    break
                draw -= share
            key = hashlib.sha256(f"ads:{seed}:{day.isoformat()}:{n}".encode()).hexdigest()[:32]
            yield TrafficEvent(key, at, "ad_view", placement=rng.choice(params.get("placements", ["question"])),
                               query=popularity.choice(rng), outcome=outcome,
                               price_share=round(rng.uniform(*params.get("price_share", [0.6, 1.0])), 2))


# Each section of the parameters file and the function that generates it.
GENERATORS: dict[str, Callable[..., Iterator[TrafficEvent]]] = {"readers": reader_sessions, "ads": ad_views}


def generate(params: dict, *, sections: list[str] | None = None, until: dt.date | None = None,
             root: Path | None = None) -> Iterator[TrafficEvent]:
    """Yields the events of every section asked for (default: every section the parameters hold)."""
    seed = int(params.get("seed", 0))
    for name in sections or [s for s in GENERATORS if s in params]:
        if name not in GENERATORS:
            raise ValueError(f"No traffic generator is called {name!r}; the known ones are {', '.join(GENERATORS)}.")
        yield from GENERATORS[name](params[name], seed=seed, until=until, root=root)


def sessions_group(events) -> list[list[TrafficEvent]]:
    """The events grouped by session (reader key), each session in time order."""
    sessions: dict[str, list[TrafficEvent]] = {}
    for event in events:
        sessions.setdefault(event.reader_key, []).append(event)
    return [sorted(s, key=lambda e: e.at) for s in sessions.values()]
