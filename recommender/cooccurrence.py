"""Co-occurrence models from the reader activity log: what readers search and read together.

Three models, each a sparse matrix of log-likelihood ratio scores (Dunning 1993) between items that
at least `min_support` sessions shared, one session being one reader key on one ad day:

- query → query: searched (or asked, or viewed as a question) in the same session;
- query → article: the article read after the query in the same session;
- article → article: read in the same session.

LLR asks whether a pair co-occurs more often than the two items' own frequencies predict, so a
popular article is not everyone's neighbour. Each row keeps its `top_k` best neighbours. Counts are
sessions, not events: one reader reading an article ten times is one reader.

A build is one row (`CooccurrenceModel`) written in one transaction that also retires the previous
active model; a build killed half-way writes nothing, and readers keep the model they had.
"""
import datetime as dt
import io
import logging
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from scipy import sparse

from recommender.models import CooccurrenceModel, ReaderActivity

logger = logging.getLogger(__name__)

QUERY_KINDS = (ReaderActivity.Kind.SEARCH, ReaderActivity.Kind.QUESTION_ASK, ReaderActivity.Kind.QUESTION_VIEW)
# Sponsored clicks are left out: what an advertiser pays to show must not become an organic neighbour.
ARTICLE_KINDS = (ReaderActivity.Kind.ARTICLE_VIEW, ReaderActivity.Kind.ORGANIC_CLICK)
MODELS = ("qq", "qa", "aa")


@dataclass(frozen=True)
class BuildParams:
    min_support: int = 2  # sessions a pair must share to be scored at all
    # LLR is χ²-distributed with one degree of freedom for independent items: 10.83 is p = 0.001. Below
    # it a pair is chance; without this cut, items shuffled across readers (the control) still leave
    # popular items with small positive scores everywhere.
    min_llr: float = 10.83
    top_k: int = 50  # neighbours kept per item
    window_days: int = 90  # activity read back from today


@dataclass
class Events:
    """The log as arrays: per event its session code, whether it names a query (else an article),
    the item's code in its vocabulary, and its time (seconds, any origin)."""

    session: np.ndarray  # int64
    is_query: np.ndarray  # bool
    item: np.ndarray  # int64, into queries or articles
    time: np.ndarray  # float64
    queries: list[str]
    articles: np.ndarray  # int64 article ids


def _xlogx(x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x, dtype=np.float64)
    positive = x > 0
    out[positive] = x[positive] * np.log(x[positive])
    return out


def llr(k11: np.ndarray, k12: np.ndarray, k21: np.ndarray, k22: np.ndarray) -> np.ndarray:
    """Dunning's log-likelihood ratio of 2×2 contingency tables, element-wise (Mahout's form)."""
    k11, k12, k21, k22 = (np.asarray(a, dtype=np.float64) for a in (k11, k12, k21, k22))
    row = _xlogx(k11 + k12) + _xlogx(k21 + k22)
    col = _xlogx(k11 + k21) + _xlogx(k12 + k22)
    total = _xlogx(k11 + k12 + k21 + k22)
    cells = _xlogx(k11) + _xlogx(k12) + _xlogx(k21) + _xlogx(k22)
    return np.maximum(0.0, 2.0 * (cells + total - row - col))


def _distinct(session: np.ndarray, item: np.ndarray, n_items: int) -> sparse.csr_matrix:
    """Sessions × items, 1 where the session holds the item (however many times)."""
    n_sessions = int(session.max()) + 1 if len(session) else 0
    matrix = sparse.csr_matrix((np.ones(len(session), dtype=np.float32), (session, item)),
                               shape=(n_sessions, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _score(pairs: sparse.csr_matrix, source_counts: np.ndarray, target_counts: np.ndarray, n_sessions: int,
           params: BuildParams, *, same_items: bool) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """LLR scores of the pairs with enough support, each row cut to its top_k; returns (scores, support)."""
    pairs = pairs.tocoo()
    keep = pairs.data >= params.min_support
    if same_items:
        keep &= pairs.row != pairs.col
    rows, cols, k11 = pairs.row[keep], pairs.col[keep], pairs.data[keep].astype(np.float64)
    k12 = source_counts[rows] - k11
    k21 = target_counts[cols] - k11
    k22 = n_sessions - k11 - k12 - k21
    scores = llr(k11, k12, k21, k22)
    # Only pairs seen together more often than chance: LLR is two-sided, a repulsion scores high too.
    expected = source_counts[rows] * target_counts[cols] / max(n_sessions, 1)
    attract = (k11 > expected) & (scores >= params.min_llr)
    rows, cols, scores, k11 = rows[attract], cols[attract], scores[attract], k11[attract]
    # Top k per row: sort by row, then score descending, and keep each row's first k.
    order = np.lexsort((-scores, rows))
    rows, cols, scores, k11 = rows[order], cols[order], scores[order], k11[order]
    starts = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(rows)) - starts
    top = rank < params.top_k
    shape = pairs.shape
    return (sparse.csr_matrix((scores[top].astype(np.float32), (rows[top], cols[top])), shape=shape),
            sparse.csr_matrix((k11[top].astype(np.float32), (rows[top], cols[top])), shape=shape))


def _query_then_article(events: Events, n_sessions: int) -> sparse.csr_matrix:
    """Queries × articles: in how many sessions the article was read after the query's first search."""
    q = events.is_query
    q_session, q_item, q_time = events.session[q], events.item[q], events.time[q]
    a_session, a_item, a_time = events.session[~q], events.item[~q], events.time[~q]
    # One row per (session, query) with its first time, and per (session, article) with its last.
    q_session, q_item, q_time = _collapse(q_session, q_item, q_time, first=True)
    a_session, a_item, a_time = _collapse(a_session, a_item, a_time, first=False)
    a_start = np.searchsorted(a_session, np.arange(n_sessions), side="left")
    a_count = np.searchsorted(a_session, np.arange(n_sessions), side="right") - a_start
    per_query = a_count[q_session]
    total = int(per_query.sum())
    if total == 0:
        return sparse.csr_matrix((len(events.queries), len(events.articles)), dtype=np.float32)
    q_index = np.repeat(np.arange(len(q_session)), per_query)
    offsets = np.arange(total) - np.repeat(np.cumsum(per_query) - per_query, per_query)
    a_index = a_start[q_session][q_index] + offsets
    after = a_time[a_index] > q_time[q_index]
    matrix = sparse.csr_matrix(
        (np.ones(int(after.sum()), dtype=np.float32), (q_item[q_index[after]], a_item[a_index[after]])),
        shape=(len(events.queries), len(events.articles)))
    matrix.sum_duplicates()
    return matrix


def _collapse(session, item, at, *, first: bool):
    """Distinct (session, item) rows sorted by session, with the first (or last) time of each."""
    order = np.lexsort((at if first else -at, item, session))
    session, item, at = session[order], item[order], at[order]
    new = np.ones(len(session), dtype=bool)
    new[1:] = (session[1:] != session[:-1]) | (item[1:] != item[:-1])
    return session[new], item[new], at[new]


def models_build(events: Events, params: BuildParams = BuildParams(),
                 progress: Callable[[str], None] | None = None) -> dict:
    """Builds the three models from the events; returns {name: (scores, support)} and the counts."""
    step = progress or (lambda name: None)
    n_sessions = int(events.session.max()) + 1 if len(events.session) else 0
    n_queries, n_articles = len(events.queries), len(events.articles)
    q = events.is_query
    sq = _distinct(events.session[q], events.item[q], n_queries)
    sa = _distinct(events.session[~q], events.item[~q], n_articles)
    if sq.shape[0] < n_sessions:
        sq.resize((n_sessions, n_queries))
    if sa.shape[0] < n_sessions:
        sa.resize((n_sessions, n_articles))
    query_sessions = np.asarray(sq.sum(axis=0)).ravel()
    article_sessions = np.asarray(sa.sum(axis=0)).ravel()
    # "Co-occurring readers" of an item: sessions where it met at least one other item of the model.
    queries_per_session, articles_per_session = np.diff(sq.indptr), np.diff(sa.indptr)
    co_readers = {
        "qq": np.asarray(sq[queries_per_session >= 2].sum(axis=0)).ravel(),
        "qa": np.asarray(sq[articles_per_session >= 1].sum(axis=0)).ravel(),
        "aa": np.asarray(sa[articles_per_session >= 2].sum(axis=0)).ravel(),
    }
    step("counts")
    qq = _score(sq.T @ sq, query_sessions, query_sessions, n_sessions, params, same_items=True)
    step("qq")
    qa = _score(_query_then_article(events, n_sessions), query_sessions, article_sessions, n_sessions, params,
                same_items=False)
    step("qa")
    aa = _score(sa.T @ sa, article_sessions, article_sessions, n_sessions, params, same_items=True)
    step("aa")
    return {"qq": qq, "qa": qa, "aa": aa, "sessions": n_sessions, "co_readers": co_readers,
            "query_sessions": query_sessions, "article_sessions": article_sessions}


def events_from_rows(rows: Iterable[tuple]) -> Events:
    """Events from (reader_key, ad_day, kind, query, article_id, at) rows, in any order.

    Rows are consumed one at a time into typed arrays (8 bytes a value, not a Python object), so a
    streamed log of millions of rows costs its codes and vocabularies, not its rows."""
    sessions: dict[tuple, int] = {}
    queries: dict[str, int] = {}
    articles: dict[int, int] = {}
    session, is_query, item, at = array("q"), array("b"), array("q"), array("d")
    query_kinds, article_kinds = set(QUERY_KINDS), set(ARTICLE_KINDS)
    for reader, day, kind, query, article_id, when in rows:
        if kind in query_kinds and query:
            code, flag = queries.setdefault(query, len(queries)), 1
        elif kind in article_kinds and article_id is not None:
            code, flag = articles.setdefault(article_id, len(articles)), 0
        else:
            continue
        session.append(sessions.setdefault((reader, day), len(sessions)))
        is_query.append(flag)
        item.append(code)
        at.append(when.timestamp() if hasattr(when, "timestamp") else float(when))
    return Events(session=np.frombuffer(session, dtype=np.int64).copy(),
                  is_query=np.frombuffer(is_query, dtype=np.int8).astype(bool),
                  item=np.frombuffer(item, dtype=np.int64).copy(), time=np.frombuffer(at, dtype=np.float64).copy(),
                  queries=list(queries), articles=np.fromiter(articles, dtype=np.int64, count=len(articles)))


def events_from_log(*, since: dt.datetime, chunk_size: int = 20000) -> Events:
    """The activity log since `since`, read with a server-side cursor (flat memory on PostgreSQL)."""
    rows = (ReaderActivity.objects.filter(at__gte=since, kind__in=[*QUERY_KINDS, *ARTICLE_KINDS])
            .order_by("reader_key", "at", "id")  # the same log gives the same vocabularies: an idempotent build
            .values_list("reader_key", "ad_day", "kind", "query", "article_id", "at"))
    return events_from_rows(rows.iterator(chunk_size=chunk_size))


# --- Storage: one blob per build, the active one swapped in the same transaction.

def _pack(events: Events, built: dict) -> bytes:
    arrays = {
        "queries": np.frombuffer("\n".join(events.queries).encode("utf-8"), dtype=np.uint8),
        "articles": events.articles,
        "query_sessions": built["query_sessions"].astype(np.int32),
        "article_sessions": built["article_sessions"].astype(np.int32),
    }
    for name in MODELS:
        scores, support = built[name]
        arrays[f"{name}_co_readers"] = built["co_readers"][name].astype(np.int32)
        arrays[f"{name}_indptr"] = scores.indptr.astype(np.int32)
        arrays[f"{name}_indices"] = scores.indices.astype(np.int32)
        arrays[f"{name}_scores"] = scores.data.astype(np.float32)
        arrays[f"{name}_support"] = support.data.astype(np.int32)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@dataclass(frozen=True)
class Neighbour:
    item: str | int  # a query's text or an article's id
    score: float  # LLR
    readers: int  # sessions that shared the pair


class Cooccurrence:
    """A loaded model: neighbour look-ups by query text or article id."""

    def __init__(self, model_id: int, blob: bytes, built_at: dt.datetime | None = None):
        self.model_id = model_id
        self.built_at = built_at
        with np.load(io.BytesIO(blob)) as data:
            arrays = {name: data[name] for name in data.files}
        text = arrays["queries"].tobytes().decode("utf-8")
        self.queries = text.split("\n") if text else []
        self.query_code = {q: i for i, q in enumerate(self.queries)}
        self.articles = arrays["articles"]
        self.article_code = {int(a): i for i, a in enumerate(self.articles)}
        self.query_sessions = arrays["query_sessions"]
        self.article_sessions = arrays["article_sessions"]
        self._rows = {name: (arrays[f"{name}_indptr"], arrays[f"{name}_indices"], arrays[f"{name}_scores"],
                             arrays[f"{name}_support"]) for name in MODELS}
        self._co_readers = {name: arrays[f"{name}_co_readers"] for name in MODELS}

    def _neighbours(self, name: str, code: int | None, targets, limit: int) -> list[Neighbour]:
        if code is None:
            return []
        indptr, indices, scores, support = self._rows[name]
        if code + 1 >= len(indptr):
            return []
        start, end = indptr[code], indptr[code + 1]
        order = np.argsort(-scores[start:end], kind="stable")[:limit] + start
        return [Neighbour(targets(int(indices[i])), float(scores[i]), int(support[i])) for i in order]

    def related_queries(self, query: str, *, limit: int = 50) -> list[Neighbour]:
        return self._neighbours("qq", self.query_code.get(query), lambda i: self.queries[i], limit)

    def articles_after_query(self, query: str, *, limit: int = 50) -> list[Neighbour]:
        return self._neighbours("qa", self.query_code.get(query), lambda i: int(self.articles[i]), limit)

    def related_articles(self, article_id: int, *, limit: int = 50) -> list[Neighbour]:
        return self._neighbours("aa", self.article_code.get(article_id), lambda i: int(self.articles[i]), limit)

    def co_readers(self, name: str, item) -> int:
        """Sessions in which the item met another item of model `name` (qq, qa, aa): its traffic."""
        code = self.article_code.get(item) if name == "aa" else self.query_code.get(item)
        return 0 if code is None else int(self._co_readers[name][code])

    def little_traffic(self, name: str, item) -> bool:
        """True below COOCCURRENCE_MIN_READERS co-occurring readers: blend falls back to content alone."""
        return self.co_readers(name, item) < settings.COOCCURRENCE_MIN_READERS


def model_rebuild(*, params: BuildParams | None = None, now: dt.datetime | None = None,
                  events: Events | None = None, progress: Callable[[str], None] | None = None) -> CooccurrenceModel:
    """Builds the models from the activity log and makes them the active ones; returns the new row.

    Idempotent: a rebuild over the same log gives the same model. Everything is written in one
    transaction, so a build that dies part-way leaves the previous active model as it was.
    """
    params = params or BuildParams(min_support=settings.COOCCURRENCE_MIN_SUPPORT, top_k=settings.COOCCURRENCE_TOP_K,
                                   min_llr=settings.COOCCURRENCE_MIN_LLR, window_days=settings.RAW_EVENT_RETENTION_DAYS)
    now = now or timezone.now()
    started = time.perf_counter()
    step = progress or (lambda name: None)
    if events is None:
        events = events_from_log(since=now - dt.timedelta(days=params.window_days))
    step("read")
    built = models_build(events, params, progress=step)
    blob = _pack(events, built)
    step("pack")
    with transaction.atomic():
        CooccurrenceModel.objects.filter(active=True).update(active=False)
        model = CooccurrenceModel.objects.create(
            active=True, events=len(events.session), sessions=built["sessions"], queries=len(events.queries),
            articles=len(events.articles), pairs={name: int(built[name][0].nnz) for name in MODELS},
            params={"min_support": params.min_support, "min_llr": params.min_llr, "top_k": params.top_k,
                    "window_days": params.window_days},
            data=blob, duration_seconds=time.perf_counter() - started,
        )
        # Older inactive builds are dropped; the one just retired stays as a fallback for a while.
        keep = list(CooccurrenceModel.objects.order_by("-id").values_list("id", flat=True)[:2])
        CooccurrenceModel.objects.exclude(id__in=keep).delete()
    step("saved")
    return model


_loaded: dict = {"model": None, "checked": 0.0}
_load_lock = threading.Lock()
CHECK_SECONDS = 60.0  # how often a process asks which model is active


def model_current(*, refresh: bool = False) -> Cooccurrence | None:
    """The active model, loaded once per process and swapped when a newer build is active; None before any build."""
    now = time.monotonic()
    current = _loaded["model"]
    if not refresh and current is not None and now - _loaded["checked"] < CHECK_SECONDS:
        return current
    with _load_lock:
        active = CooccurrenceModel.objects.filter(active=True).values_list("id", "built_at").first()
        _loaded["checked"] = now
        if active is None:
            _loaded["model"] = None
        elif current is None or (current.model_id, current.built_at) != active:
            blob = CooccurrenceModel.objects.filter(id=active[0]).values_list("data", flat=True).first()
            _loaded["model"] = Cooccurrence(active[0], bytes(blob), active[1]) if blob is not None else current
        return _loaded["model"]
