"""Offline evaluation of recommendation on generated reader sessions (contentlib/traffic.py).

Sessions are split by reader key into train (60%), dev (20%) and test (20%). The co-occurrence
models are built from train. In every dev or test session the last query that was not searched
before is held out (and, separately, the last article read that was not read before) and ranked
among every other item of its kind from the rest of the session by

- popularity alone (sessions in train that hold the item),
- content alone (mean cosine of the item's e5 vector to those of the session's other items),
- the blend (recommender/blend.py): the top 50 by content and the top 50 co-occurrence neighbours
  (the sum of LLR scores from the session's other items), weighted.

The control shuffles every query and every article across all sessions before the split (lengths,
kinds and times stay), so that no co-occurrence is left: the blend must gain nothing there.
"""
import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from django.conf import settings

from contentlib import traffic
from recommender.blend import BlendWeights, blend
from recommender.cooccurrence import BuildParams, Events, models_build

CANDIDATES = 50  # from each of the content list and the co-occurrence list, as the pages get them
K = 10
SPLITS = {"train": 0.6, "dev": 0.2, "test": 0.2}
METHODS = ("popularity", "content", "blend")


def split_of(reader_key: str) -> str:
    value = int(hashlib.sha256(reader_key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if value < SPLITS["train"] else "dev" if value < SPLITS["train"] + SPLITS["dev"] else "test"


@dataclass
class Space:
    """The generator's items with their content vectors (rows L2-normalized)."""

    queries: list[str]
    articles: list[str]
    query_vectors: np.ndarray
    article_vectors: np.ndarray
    query_code: dict = field(default_factory=dict)
    article_code: dict = field(default_factory=dict)

    def __post_init__(self):
        self.query_code = {q: i for i, q in enumerate(self.queries)}
        self.article_code = {a: i for i, a in enumerate(self.articles)}


def space_build(encode_queries: Callable[[list[str]], np.ndarray] | None = None,
                encode_passages: Callable[[list[str]], np.ndarray] | None = None, *,
                cache_dir: Path | None = None) -> Space:
    """Every query and article the generator can draw, with e5 vectors unless encoders are given.

    The e5 vectors are kept in `cache_dir` under a digest of the texts: encoding them takes minutes here."""
    articles, links = traffic.corpus_links()
    queries = sorted(links)
    passages = [f"{a.title}\n{a.body[:1200]}" for a in articles]
    cache = None
    if encode_queries is None or encode_passages is None:
        from recommender.embeddings import E5_NAME, e5_encoder  # noqa: PLC0415 - loads the model on use

        digest = hashlib.sha256("\x1f".join([E5_NAME, *queries, *passages]).encode()).hexdigest()[:16]
        cache = Path(cache_dir or settings.DATA_DIR) / f"recommend_eval_vectors_{digest}.npz"
        if cache.exists():
            with np.load(cache) as data:
                return Space(queries=queries, articles=[a.id for a in articles],
                             query_vectors=data["queries"], article_vectors=data["articles"])
        model = e5_encoder()
        encode_queries, encode_passages = model.encode_queries, model.encode
    space = Space(queries=queries, articles=[a.id for a in articles],
                  query_vectors=np.asarray(encode_queries(queries), dtype=np.float32),
                  article_vectors=np.asarray(encode_passages(passages), dtype=np.float32))
    if cache is not None:
        np.savez(cache, queries=space.query_vectors, articles=space.article_vectors)
    return space


def sessions_from_log(*, since=None) -> list[list[traffic.TrafficEvent]]:
    """The activity log's sessions (reader key; queries and article views), as the generator's events,
    articles named by their library id as text."""
    from recommender.cooccurrence import ARTICLE_KINDS, QUERY_KINDS  # noqa: PLC0415
    from recommender.models import ReaderActivity  # noqa: PLC0415

    rows = ReaderActivity.objects.filter(kind__in=[*QUERY_KINDS, *ARTICLE_KINDS])
    if since is not None:
        rows = rows.filter(at__gte=since)
    events = (traffic.TrafficEvent(reader, at, kind, query=query if kind in QUERY_KINDS else "",
                                   article=str(article_id) if kind in ARTICLE_KINDS and article_id else None)
              for reader, at, kind, query, article_id in rows.order_by("reader_key", "at", "id")
              .values_list("reader_key", "at", "kind", "query", "article_id").iterator(chunk_size=20000))
    return [s for s in traffic.sessions_group(e for e in events if e.query or e.article) if s]


def space_from_log(sessions, encode_queries: Callable[[list[str]], np.ndarray] | None = None) -> Space:
    """The logged queries (encoded now) and articles (their stored embeddings) of these sessions;
    articles without a stored vector of the query model's size are left out."""
    from contentlib.models import Article  # noqa: PLC0415
    from recommender.embeddings import from_bytes  # noqa: PLC0415

    if encode_queries is None:
        from recommender.embeddings import e5_encoder  # noqa: PLC0415

        encode_queries = e5_encoder().encode_queries
    queries = sorted({e.query for s in sessions for e in s if e.query})
    query_vectors = np.asarray(encode_queries(queries), dtype=np.float32)
    ids = sorted({int(e.article) for s in sessions for e in s if e.article})
    stored = dict(Article.objects.filter(id__in=ids).exclude(embedding=None).values_list("id", "embedding"))
    articles, vectors = [], []
    for article_id in ids:
        vector = from_bytes(stored.get(article_id))
        if vector is not None and len(vector) == query_vectors.shape[1]:
            articles.append(str(article_id))
            vectors.append(vector)
    return Space(queries=queries, articles=articles, query_vectors=query_vectors,
                 article_vectors=np.asarray(vectors, dtype=np.float32).reshape(len(vectors), query_vectors.shape[1]))


def shuffled(sessions: list[list[traffic.TrafficEvent]], seed: int) -> list[list[traffic.TrafficEvent]]:
    """The control: every query and every article moved to a random slot of its kind in any session."""
    rng = random.Random(seed)
    queries = [e.query for s in sessions for e in s if e.query]
    articles = [e.article for s in sessions for e in s if e.article]
    rng.shuffle(queries)
    rng.shuffle(articles)
    q, a = iter(queries), iter(articles)
    return [[replace(e, query=next(q)) if e.query else replace(e, article=next(a)) for e in s] for s in sessions]


def _events(sessions, space: Space) -> Events:
    session, is_query, item, at = [], [], [], []
    for n, events in enumerate(sessions):
        for event in events:
            if event.query:
                code, flag = space.query_code.get(event.query), True
            else:
                code, flag = space.article_code.get(event.article), False
            if code is None:
                continue
            session.append(n)
            is_query.append(flag)
            item.append(code)
            at.append(event.at.timestamp())
    return Events(session=np.asarray(session, dtype=np.int64), is_query=np.asarray(is_query, dtype=bool),
                  item=np.asarray(item, dtype=np.int64), time=np.asarray(at, dtype=np.float64),
                  queries=space.queries, articles=np.arange(len(space.articles), dtype=np.int64))


@dataclass
class Case:
    target: int
    kind: str  # "queries" | "articles"
    context_queries: list[int]
    context_articles: list[int]


def cases_of(sessions, space: Space) -> list[Case]:
    """Per session: the held-out last new query and the held-out last new article, each with the rest."""
    cases = []
    for events in sessions:
        queries = [space.query_code[e.query] for e in events if e.query and e.query in space.query_code]
        articles = [space.article_code[e.article] for e in events if e.article and e.article in space.article_code]
        for kind, items in (("queries", queries), ("articles", articles)):
            distinct = list(dict.fromkeys(items))  # in order of first appearance
            if not distinct:
                continue
            target = distinct[-1]
            rest_q = [q for q in dict.fromkeys(queries) if not (kind == "queries" and q == target)]
            rest_a = [a for a in dict.fromkeys(articles) if not (kind == "articles" and a == target)]
            if rest_q or rest_a:
                cases.append(Case(target=target, kind=kind, context_queries=rest_q, context_articles=rest_a))
    return cases


@dataclass
class Model:
    qq: object
    qa: object
    qa_t: object
    aa: object
    co_readers: dict
    query_popularity: np.ndarray
    article_popularity: np.ndarray


def model_fit(sessions, space: Space, params: BuildParams) -> Model:
    built = models_build(_events(sessions, space), params)
    qa = built["qa"][0].tocsr()
    return Model(qq=built["qq"][0].tocsr(), qa=qa, qa_t=qa.T.tocsr(), aa=built["aa"][0].tocsr(),
                 co_readers=built["co_readers"], query_popularity=built["query_sessions"],
                 article_popularity=built["article_sessions"])


def _rows_sum(matrix, rows: list[int], width: int) -> np.ndarray:
    if not rows:
        return np.zeros(width)
    return np.asarray(matrix[rows].sum(axis=0)).ravel()


def case_scores(case: Case, space: Space, model: Model, min_readers: int):
    """(candidates mask, content, co-occurrence, popularity, little traffic) for one case."""
    if case.kind == "queries":
        vectors, popularity = space.query_vectors, model.query_popularity
        co = (_rows_sum(model.qq, case.context_queries, len(space.queries))
              + _rows_sum(model.qa_t, case.context_articles, len(space.queries)))
        traffic_of = [model.co_readers["qq"][q] for q in case.context_queries]
        traffic_of += [model.co_readers["aa"][a] for a in case.context_articles]
        excluded = case.context_queries
    else:
        vectors, popularity = space.article_vectors, model.article_popularity
        co = (_rows_sum(model.aa, case.context_articles, len(space.articles))
              + _rows_sum(model.qa, case.context_queries, len(space.articles)))
        traffic_of = [model.co_readers["qa"][q] for q in case.context_queries]
        traffic_of += [model.co_readers["aa"][a] for a in case.context_articles]
        excluded = case.context_articles
    context = [space.query_vectors[q] for q in case.context_queries] + [space.article_vectors[a] for a in case.context_articles]
    content = vectors @ np.mean(context, axis=0)
    mask = np.ones(len(vectors), dtype=bool)
    mask[excluded] = False
    little = max(traffic_of, default=0) < min_readers
    return mask, content, co, popularity, little


def _rank(order: list[int], target: int) -> int | None:
    try:
        return order.index(target)
    except ValueError:
        return None


def rankings(case: Case, space: Space, model: Model, weights: BlendWeights, min_readers: int) -> dict:
    mask, content, co, popularity, little = case_scores(case, space, model, min_readers)
    candidates = np.flatnonzero(mask)
    by_content = candidates[np.lexsort((candidates, -content[candidates]))]
    by_popularity = candidates[np.lexsort((candidates, -popularity[candidates]))]
    co_candidates = candidates[co[candidates] > 0]
    by_co = co_candidates[np.lexsort((co_candidates, -co[co_candidates]))][:CANDIDATES]
    blended = blend([(int(i), float(content[i])) for i in by_content[:CANDIDATES]],
                    [(int(i), float(co[i])) for i in by_co], weights=weights, little_traffic=little, limit=K)
    return {"popularity": _rank(by_popularity[:K].tolist(), case.target),
            "content": _rank(by_content[:K].tolist(), case.target),
            "blend": _rank(blended, case.target), "little": little}


def metrics(results: list[dict]) -> dict:
    """Hit rate@10 and nDCG@10 per method (one relevant item: nDCG is 1 / log2(rank + 2))."""
    out = {"cases": len(results)}
    for method in METHODS:
        ranks = [r[method] for r in results]
        out[method] = {
            "hit": sum(r is not None for r in ranks) / len(ranks) if ranks else 0.0,
            "ndcg": sum(1.0 / math.log2(r + 2) for r in ranks if r is not None) / len(ranks) if ranks else 0.0,
        }
    return out


@dataclass
class Prepared:
    space: Space
    splits: dict  # name -> sessions
    model: Model
    cases: dict  # split -> surface -> [Case]


def prepare(sessions, space: Space, params: BuildParams) -> Prepared:
    splits = {name: [] for name in SPLITS}
    for events in sessions:
        splits[split_of(events[0].reader_key)].append(events)
    model = model_fit(splits["train"], space, params)
    cases = {}
    for name in ("dev", "test"):
        found = cases_of(splits[name], space)
        cases[name] = {surface: [c for c in found if c.kind == surface] for surface in ("queries", "articles")}
    return Prepared(space=space, splits=splits, model=model, cases=cases)


def evaluate(prepared: Prepared, *, split: str, surface: str, weights: BlendWeights, min_readers: int) -> dict:
    results = [rankings(case, prepared.space, prepared.model, weights, min_readers)
               for case in prepared.cases[split][surface]]
    report = metrics(results)
    report["little_traffic"] = metrics([r for r in results if r["little"]])
    report["with_traffic"] = metrics([r for r in results if not r["little"]])
    return report


def tune(prepared: Prepared, *, surface: str, min_readers: int,
         grid=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)) -> tuple[BlendWeights, list[tuple]]:
    """The co-occurrence weight with the best hit rate@10 on dev (ties: nDCG@10, then the smaller weight)."""
    tried = []
    for w_co in grid:
        weights = BlendWeights(cooccurrence=w_co)
        report = evaluate(prepared, split="dev", surface=surface, weights=weights, min_readers=min_readers)
        tried.append((report["blend"]["hit"], report["blend"]["ndcg"], -w_co, weights))
    best = max(tried, key=lambda t: t[:3])
    return best[3], tried


def sessions_generate(params: dict) -> list[list[traffic.TrafficEvent]]:
    """The generated readers' sessions (the parameters' `readers` section; its `ads` section is ad traffic)."""
    return traffic.sessions_group(traffic.generate(params, sections=["readers"]))

