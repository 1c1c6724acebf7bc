"""Retrieval for readers: lexical and vector rankings fused in the app, a calibrated "nothing fits"
signal, and a database check so that nothing rejected, archived or deleted is ever returned.

Fusion weights and the nothing-fits model are per language (the bundled embedding model is
English-only, so Chinese leans on lexical matching). They were tuned on the development half of the
judged queries only (`manage.py search_tune`) and live in `recommender/search/tuning.json`.
"""
import json
import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

from contentlib.models import Article
from contentlib.selectors import article_published
from recommender.search import centering, search_backend
from recommender.search.base import Hit, SearchBackend, SearchFilters, query_terms
from recommender.lexicon import segmenter_refresh
from recommender.text import detect_language, segmenter

logger = logging.getLogger(__name__)

TUNING_FILE = Path(__file__).parent / "search" / "tuning.json"
QUERY_MAX_CHARS = 2000  # a 10,000-character paste is cut; its head says what it is about
CANDIDATES = 50  # from each ranking, before fusion
ANSWER_TERMS = 10  # an answer adds its most specific terms to the question's, not all of its words
ANSWER_STATS_TERMS = 300  # distinct answer tokens whose document frequencies are looked up
MODES = ("hybrid", "lexical", "vector")
# What kind of answer `retrieve(answer=...)` is given, for its weights: "written" prose (a language
# model's, a host site's, an editor's), which brings words and meaning of its own; or "extractive",
# sentences quoted from the references the question alone retrieved, which only repeat what already
# ranks first (pseudo-relevance feedback) and are weighted apart (tuned on dev, docs/BENCHMARKS.md).
ANSWER_KINDS = ("written", "extractive")


@dataclass(frozen=True)
class FusionParams:
    """How one language's rankings are combined, and how its nothing-fits probability is computed."""

    # "weighted": BM25 over the query's summed idf, plus raw cosine; "minmax": each ranking's scores
    # rescaled to 0..1 over its candidates for this query; "rrf": reciprocal ranks.
    method: str = "weighted"
    lexical_weight: float = 0.5
    vector_weight: float = 0.5
    rrf_k: int = 60
    # Logistic model of P(some article fits) from the raw top scores: intercept, lexical, vector.
    fit_coef: tuple[float, float, float] = (0.0, 1.0, 1.0)
    fit_threshold: float = 0.5
    # The same from the lexical score alone, for when there is no vector score (lexical mode, or the
    # embedding model failed): intercept, lexical.
    lexical_fit_coef: tuple[float, float] = (0.0, 1.0)
    lexical_fit_threshold: float = 0.5
    # Question + answer (`retrieve(answer=...)`): the weight of the answer's top terms' BM25 beside
    # the question's, and of the answer's vector added to the question's. 0 and 0: the question alone.
    # These are for written answers; an extractive answer has its own pair.
    answer_lexical_weight: float = 0.0
    answer_vector_weight: float = 0.0
    extractive_answer_lexical_weight: float = 0.0
    extractive_answer_vector_weight: float = 0.0
    # The fusion and answer weights for ranking when the index holds centered vectors
    # (recommender.search.centering); the fields above then still compute the raw ranking the answers
    # choose references from, and the fit coefficients always read the raw scores. None: as above.
    centered: "FusionParams | None" = None

    def answer_weights(self, kind: str) -> tuple[float, float]:
        """(lexical, vector) weights of an answer of this kind (ANSWER_KINDS)."""
        if kind == "extractive":
            return self.extractive_answer_lexical_weight, self.extractive_answer_vector_weight
        return self.answer_lexical_weight, self.answer_vector_weight

    def fit_probability(self, lexical_top: float, vector_top: float | None) -> float:
        if vector_top is None:
            b0, b_lex = self.lexical_fit_coef
            z = b0 + b_lex * lexical_top
        else:
            b0, b_lex, b_vec = self.fit_coef
            z = b0 + b_lex * lexical_top + b_vec * vector_top
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def threshold(self, vector_top: float | None) -> float:
        return self.lexical_fit_threshold if vector_top is None else self.fit_threshold


@lru_cache(maxsize=1)
def tuned_params() -> dict[str, FusionParams]:
    """Per-language parameters from tuning.json; "other" languages use the English ones."""
    data = json.loads(TUNING_FILE.read_text(encoding="utf-8")) if TUNING_FILE.exists() else {}
    params = {}
    for language, values in data.get("languages", {}).items():
        values = dict(values)
        values["fit_coef"] = tuple(values.get("fit_coef", (0.0, 1.0, 1.0)))
        values["lexical_fit_coef"] = tuple(values.get("lexical_fit_coef", (0.0, 1.0)))
        if values.get("centered"):
            values["centered"] = FusionParams(**values["centered"])
        params[language] = FusionParams(**values)
    return params


def params_for(language: str, overrides: dict[str, FusionParams] | None = None) -> FusionParams:
    table = overrides if overrides is not None else tuned_params()
    return table.get(language) or table.get("en") or FusionParams()


@dataclass(frozen=True)
class ScoredHit:
    id: int
    score: float
    lexical: float | None = None  # normalized BM25 (BM25 / the query's summed idf)
    vector: float | None = None  # cosine similarity


@dataclass
class RetrievalResult:
    hits: list[ScoredHit] = field(default_factory=list)
    language: str = "other"
    fit_probability: float = 0.0
    nothing_fits: bool = True
    lexical_top: float = 0.0
    vector_top: float | None = None  # None: no vector search ran (lexical mode, or the model failed)
    generation: str = ""  # the index snapshot every hit came from
    query_vector: np.ndarray | None = None  # the query's raw vector (None: none was searched)
    # Over an index of centered vectors: the same candidates ranked from the question alone with
    # their raw cosines and the raw fusion, which the answers choose their references from. None
    # when the index holds raw vectors (then `hits` is that ranking).
    raw_hits: list[ScoredHit] | None = None
    centered: bool = False  # whether the vector ranking was on centered vectors

    @property
    def ids(self) -> list[int]:
        return [h.id for h in self.hits]

    @property
    def reference_hits(self) -> list[ScoredHit]:
        """The ranking an answer chooses references from: from the raw cosines (see raw_hits)."""
        return self.hits if self.raw_hits is None else self.raw_hits


def lexical_normalizer(documents: int, freqs: dict[str, int], terms: list[str]) -> float:
    """The query's summed BM25 idf: a BM25 score divided by it is comparable across queries."""
    if not terms:
        return 1.0
    total = max(documents, 1)
    return sum(math.log(1.0 + (total - freqs.get(t, 0) + 0.5) / (freqs.get(t, 0) + 0.5)) for t in terms) or 1.0


def _minmax(hits: list[Hit]) -> dict[int, float]:
    """Scores rescaled to 0..1 over this ranking's candidates (all 1.0 when they are equal)."""
    if not hits:
        return {}
    low, high = min(h.score for h in hits), max(h.score for h in hits)
    return {h.id: (h.score - low) / (high - low) if high > low else 1.0 for h in hits}


def fuse(lexical: list[Hit], vector: list[Hit], *, normalizer: float, params: FusionParams) -> list[ScoredHit]:
    """One ranking from both: weighted sum of normalized scores, or weighted reciprocal rank fusion."""
    lex = {h.id: (rank, h.score / normalizer) for rank, h in enumerate(lexical)}
    vec = {h.id: (rank, h.score) for rank, h in enumerate(vector)}
    rescaled = {"lexical": _minmax(lexical), "vector": _minmax(vector)} if params.method == "minmax" else {}
    fused = []
    for doc_id in lex.keys() | vec.keys():
        lex_rank, lex_score = lex.get(doc_id, (None, None))
        vec_rank, vec_score = vec.get(doc_id, (None, None))
        if params.method == "rrf":
            score = sum(
                weight / (params.rrf_k + rank + 1)
                for weight, rank in ((params.lexical_weight, lex_rank), (params.vector_weight, vec_rank))
                if rank is not None
            )
        elif params.method == "minmax":
            score = (params.lexical_weight * rescaled["lexical"].get(doc_id, 0.0)
                     + params.vector_weight * rescaled["vector"].get(doc_id, 0.0))
        else:
            score = params.lexical_weight * (lex_score or 0.0) + params.vector_weight * max(vec_score or 0.0, 0.0)
        fused.append(ScoredHit(doc_id, score, lex_score, vec_score))
    fused.sort(key=lambda h: (-h.score, h.id))
    return fused


def visible_ids(ids: list[int], filters: SearchFilters) -> set[int]:
    """Which of these articles may be shown now, by the database: the index may lag a moderation."""
    rows = article_published() if filters.published_only else Article.objects.all()
    return set(rows.filter(id__in=ids).values_list("id", flat=True))


QUERY_VECTOR_CACHE = 4096  # repeated queries (popular questions, paging) skip the encoder


@lru_cache(maxsize=QUERY_VECTOR_CACHE)
def _cached_query_vector(text: str, model: str, setting: str) -> np.ndarray:
    """Keyed by the setting too: an index that names no model is queried with the configured one."""
    from recommender.embeddings import encode_query  # noqa: PLC0415 - loads the model on first use

    vector = encode_query(text, model=model)
    vector.setflags(write=False)  # shared by every caller of the cache
    return vector


def _query_vector(text: str, model: str = "") -> np.ndarray | None:
    """The query's vector from `model`, the index's embedding model (the configured one when "")."""
    try:
        return _cached_query_vector(text, model, settings.EMBEDDING_MODEL)
    except (RuntimeError, OSError) as error:
        # A reader's query must still be answered; lexical results carry on while operators fix the model.
        logger.error("query embedding failed, answering lexically only: %s", error)
        return None


_stale_spaces: set[str] = set()  # said once per process


def index_centering(space: str) -> centering.Centering | None:
    """The means to center queries by for an index whose vectors are in `space` (its vector_model)."""
    means = centering.for_space(space)
    if means is None and centering.SPACE_MARK in space:
        current = centering.for_model(centering.model_of(space))
        if space not in _stale_spaces:
            _stale_spaces.add(space)
            logger.warning("the search index's vectors were centered by other means (%s) than this code's "
                           "(%s): run `manage.py reindex` to center them again; meanwhile queries are %s",
                           space, current.space if current else "none, for this model",
                           "centered by this code's means" if current else "not centered")
        return current
    return means


RawVectors = Callable[[list[int]], dict[int, np.ndarray]]


def stored_raw_vectors(model: str) -> RawVectors:
    """Reads articles' raw vectors (Article.embedding) made by `model`, by id."""
    from recommender.embeddings import from_bytes  # noqa: PLC0415

    def read(ids: list[int]) -> dict[int, np.ndarray]:
        rows = Article.objects.filter(id__in=ids, embedding_model=model).exclude(embedding=None)
        return {i: from_bytes(blob) for i, blob in rows.values_list("id", "embedding")}

    return read


def _raw_vector_ranking(query_vector: np.ndarray, ids: list[int], raw_vectors: RawVectors) -> list[Hit]:
    """The candidates ranked by the raw cosine of their stored raw vectors with the raw query vector."""
    query = np.asarray(query_vector, dtype=np.float32)
    found = raw_vectors(ids)
    hits = [Hit(i, float(query @ np.asarray(v, dtype=np.float32))) for i, v in found.items()
            if v is not None and len(v) == len(query)]
    return sorted(hits, key=lambda h: (-h.score, h.id))


def query_vector(text: str) -> np.ndarray | None:
    """The text's vector as a search for it would be encoded (cached; None when the model failed)."""
    return _query_vector(text)


def answer_terms(answer_tokens: list[str], exclude: set[str], documents: int, freqs: dict[str, int],
                 count: int = ANSWER_TERMS) -> list[str]:
    """The answer's `count` terms of highest tf-idf that the question lacks and the index holds."""
    tf: dict[str, int] = {}
    for token in answer_tokens:
        token = token.strip().lower()
        if token and token not in exclude and freqs.get(token, 0) > 0:
            tf[token] = tf.get(token, 0) + 1
    total = max(documents, 1)
    weight = {t: n * math.log(1.0 + (total - freqs[t] + 0.5) / (freqs[t] + 0.5)) for t, n in tf.items()}
    return sorted(weight, key=lambda t: (-weight[t], t))[:count]


def _with_answer(found_lexical: list[Hit], normalizer: float, answer_hits: list[Hit], answer_normalizer: float,
                 weight: float) -> list[Hit]:
    """The question's BM25 (normalized) plus `weight` times the answer terms' (normalized), as one ranking."""
    scores: dict[int, float] = {}
    for hit in found_lexical:
        scores[hit.id] = hit.score / normalizer
    for hit in answer_hits:
        scores[hit.id] = scores.get(hit.id, 0.0) + weight * hit.score / answer_normalizer
    return sorted((Hit(doc_id, score) for doc_id, score in scores.items()), key=lambda h: (-h.score, h.id))


def retrieve(
    query: str,
    *,
    answer: str = "",
    answer_vector: np.ndarray | None = None,
    answer_kind: str = "written",
    k: int = 10,
    filters: SearchFilters = SearchFilters(),
    mode: str = "hybrid",
    backend: SearchBackend | None = None,
    query_vector: np.ndarray | None = None,
    check_database: bool = True,
    params: dict[str, FusionParams] | None = None,
    raw_vectors: RawVectors | None = None,
) -> RetrievalResult:
    """The articles that best answer `query`, best first, and whether any of them fits at all.

    Any text is accepted: empty, very long, query syntax, emoji, mixed scripts. The query is
    segmented with the same `tokenize` as the articles. `query_vector` skips the encoder (callers
    that already have it, and the benchmark). `check_database=False` is for evaluations over an
    index that is not backed by rows.

    `answer` (a drafted answer to the question) and `answer_vector` (its vector, e.g. the mean of
    the passages it cites) widen the search for long inputs without drowning the question: the
    answer's ANSWER_TERMS most specific terms are searched beside the question's and weighted
    (`answer_lexical_weight`), and its vector is added to the question's (`answer_vector_weight`).
    `answer_kind` says whose weights apply (ANSWER_KINDS): an extractive answer quotes the
    question's own first references, so it has weights of its own (`extractive_answer_*`).
    Whether anything fits is still judged from the question alone: an answer written from general
    knowledge is on topic whether or not the library answers it.

    When the index holds centered vectors (recommender.search.centering), the query (and answer)
    vector is centered alike and ranks by the `centered` fusion; the candidates' raw cosines, from
    their raw vectors (`raw_vectors(ids)`; by default Article.embedding), give the raw top cosine
    that nothing-fits reads and `raw_hits`, the answers' ranking. Without raw vectors (an index not
    backed by rows and no `raw_vectors`), both fall back to the centered scores.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if answer_kind not in ANSWER_KINDS:
        raise ValueError(f"answer_kind must be one of {ANSWER_KINDS}, not {answer_kind!r}")
    text = (query or "")[:QUERY_MAX_CHARS].strip()
    language = detect_language(text)
    result = RetrievalResult(language=language)
    if not text or k <= 0:
        return result
    backend = backend or search_backend()
    fusion = params_for(language, params)
    # The same dictionary as the library's articles, lexicon phrases included (an evaluation over an
    # index without rows has no lexicon to load).
    seg = segmenter_refresh() if check_database else segmenter()
    terms = query_terms(seg.tokens(text))
    wanted = max(CANDIDATES, 3 * k)
    given_vector = query_vector is not None
    means, searched = None, None
    if mode != "lexical" and given_vector:
        means, query_vector, searched = _index_vectors(backend, text, language, query_vector)
        found = backend.search(terms, searched, k=wanted, filters=filters)
    elif mode != "lexical":
        # The query is encoded on another thread while the engine runs the lexical side (the encoder
        # releases the GIL), then the vector side waits for it: same snapshot, less waiting.
        encoded = _encoder_pool().submit(_index_vectors, backend, text, language, None)
        found = backend.search(terms, _third(encoded), k=wanted, filters=filters)
        means, query_vector, searched = encoded.result()
    else:
        found = backend.search(terms, None, k=wanted, filters=filters)
    if (not given_vector and query_vector is not None and found.vector_dim
            and len(query_vector) != found.vector_dim):
        # A rebuild with another model landed between the two calls: once more, with its model.
        means, query_vector, searched = _index_vectors(backend, text, language, None)
        found = backend.search(terms, searched, k=wanted, filters=filters)
    result.generation = found.generation
    result.query_vector = query_vector if mode != "lexical" else None
    lexical, vector = found.lexical, found.vector
    normalizer = lexical_normalizer(found.documents, found.doc_freqs, terms) if lexical else 1.0
    searched_vectors = mode != "lexical" and query_vector is not None
    result.centered = searched_vectors and means is not None
    raw_vector = None  # the candidates by raw cosine, over a centered index
    if result.centered:
        if raw_vectors is None and check_database:
            raw_vectors = stored_raw_vectors(means.model)
        if raw_vectors is not None:
            raw_vector = _raw_vector_ranking(query_vector, list(dict.fromkeys(
                [h.id for h in vector] + [h.id for h in lexical])), raw_vectors)
    ranking = fusion.centered if result.centered and fusion.centered is not None else fusion
    ranked_lexical, ranked_vector, ranked_normalizer = lexical, vector, normalizer
    answer_text = (answer or "")[:QUERY_MAX_CHARS].strip()
    answer_lexical_weight, answer_vector_weight = ranking.answer_weights(answer_kind)
    if answer_text and (answer_lexical_weight > 0 or answer_vector_weight > 0):
        ranked_lexical, ranked_vector, ranked_normalizer = _answer_rankings(
            backend, seg, answer_text, _centered(answer_vector, means, language), terms, lexical, normalizer,
            searched if searched_vectors else None, vector, wanted=wanted, filters=filters,
            lexical_weight=answer_lexical_weight, vector_weight=answer_vector_weight, mode=mode)
    ranked = _ranking(mode, ranked_lexical, ranked_vector, ranked_normalizer, ranking)
    raw_ranked = _ranking(mode, lexical, raw_vector, normalizer, fusion) if raw_vector is not None else None
    if check_database and ranked:
        allowed = visible_ids(list({h.id for h in ranked} | {h.id for h in lexical} | {h.id for h in vector}), filters)
        ranked = [h for h in ranked if h.id in allowed]
        lexical = [h for h in lexical if h.id in allowed]
        vector = [h for h in vector if h.id in allowed]
        if raw_vector is not None:
            raw_vector = [h for h in raw_vector if h.id in allowed]
            raw_ranked = [h for h in raw_ranked if h.id in allowed]
    result.hits = ranked[:k]
    result.raw_hits = raw_ranked[:k] if raw_ranked is not None else None
    # Whether anything fits is judged from the question's own rankings (see above), on raw cosines.
    result.lexical_top = lexical[0].score / normalizer if lexical else 0.0
    top_vector = raw_vector if raw_vector is not None else vector
    result.vector_top = (top_vector[0].score if top_vector else 0.0) if searched_vectors else None
    result.fit_probability = fusion.fit_probability(result.lexical_top, result.vector_top)
    result.nothing_fits = not result.hits or result.fit_probability < fusion.threshold(result.vector_top)
    return result


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _encoder_pool() -> ThreadPoolExecutor:
    """Threads that encode queries while the lexical side runs; made anew in a forked process
    (a pool's threads do not survive a fork)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        with _pool_lock:
            if _pool is None or _pool[0] != os.getpid():
                _pool = (os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="query-encoder"))
    return _pool[1]


def _third(encoded: Future) -> Future:
    """A Future of the vector to search with, out of `_index_vectors`' pending triple."""
    searched: Future = Future()

    def done(future: Future) -> None:
        if future.exception() is not None:
            searched.set_exception(future.exception())
        else:
            searched.set_result(future.result()[2])

    encoded.add_done_callback(done)
    return searched


def _index_vectors(backend: SearchBackend, text: str, language: str, given: np.ndarray | None):
    """(means, raw query vector, vector to search with) for the index as it is now: the query encoded
    by the model the index's vectors came from, unless `given` (after a rebuild with another model,
    this process follows the index instead of comparing vectors of two spaces), and centered only
    when the index's vectors are."""
    space = backend.info().vector_model
    means = index_centering(space)
    query_vector = given if given is not None else _query_vector(text, model=centering.model_of(space))
    return means, query_vector, _centered(query_vector, means, language)


def _centered(vector: np.ndarray | None, means: centering.Centering | None, language: str) -> np.ndarray | None:
    return vector if vector is None or means is None else means.center(vector, language)


def _ranking(mode: str, lexical: list[Hit], vector: list[Hit], normalizer: float,
             params: FusionParams) -> list[ScoredHit]:
    """The ranking that `mode` returns from these rankings (lexical scores not yet normalized)."""
    if mode == "lexical":
        return [ScoredHit(h.id, h.score / normalizer, lexical=h.score / normalizer) for h in lexical]
    if mode == "vector":
        return [ScoredHit(h.id, h.score, vector=h.score) for h in vector]
    return fuse(lexical, vector, normalizer=normalizer, params=params)


def _answer_rankings(backend, seg, answer_text, answer_vector, terms, lexical, normalizer, query_vector, vector, *,
                     wanted, filters, lexical_weight, vector_weight, mode):
    """The lexical and vector rankings for question + answer (their lexical scores already normalized)."""
    answer_tokens = seg.tokens(answer_text)
    distinct = list(dict.fromkeys(t.strip().lower() for t in answer_tokens if t.strip()))[:ANSWER_STATS_TERMS]
    documents, freqs = backend.term_stats(distinct) if lexical_weight > 0 else (0, {})
    extra = answer_terms(answer_tokens, set(terms), documents, freqs) if lexical_weight > 0 else []
    combined = None
    if query_vector is not None and answer_vector is not None and vector_weight > 0:
        mixed = np.asarray(query_vector, dtype=np.float32) + vector_weight * np.asarray(answer_vector, dtype=np.float32)
        norm = float(np.linalg.norm(mixed))
        combined = mixed / norm if norm > 0 else None
    if not extra and combined is None:
        return lexical, vector, normalizer
    found = backend.search(extra if mode != "vector" else [], combined, k=wanted, filters=filters, term_stats=False)
    ranked_lexical = lexical
    if extra and mode != "vector":
        extra_normalizer = lexical_normalizer(documents, freqs, extra)
        ranked_lexical = _with_answer(lexical, normalizer, found.lexical, extra_normalizer, lexical_weight)
    else:
        ranked_lexical = [Hit(h.id, h.score / normalizer) for h in lexical]
    return ranked_lexical, (found.vector if combined is not None else vector), 1.0
