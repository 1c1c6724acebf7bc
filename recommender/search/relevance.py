"""Relevance evaluation on the judged queries of fixtures/corpus: nDCG@5, recall@10 and nothing-fits.

The fixture corpus is indexed into a throw-away embedded index (tokens from `recommender.text.tokenize`
as enrichment produces them, vectors from `recommender.embeddings` over the same passage enrichment
embeds), so the figures measure the real engines, analyzers and models.
"""
import hashlib
import math
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from django.conf import settings

from contentlib import corpus
from recommender import library_vectors
from recommender.retrieval import FusionParams, RetrievalResult, retrieve
from recommender.search import centering
from recommender.search.base import IndexDocument, SearchBackend
from recommender.search.split import split_load
from recommender.text import tokenize

NDCG_AT = 5
RECALL_AT = 10


@dataclass
class FixtureIndex:
    backend: SearchBackend
    doc_ids: dict[int, str]  # index id -> corpus article id
    query_vectors: dict[str, np.ndarray]
    model_name: str = ""
    directory: tempfile.TemporaryDirectory | None = None
    answer_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # queries with a written answer
    model: object = None  # the encoder, for judged sets from elsewhere (`add_queries`)
    # Every document's raw vector by index id (the index may hold them centered), as Article.embedding.
    raw_vectors: dict[int, np.ndarray] = field(default_factory=dict)
    means: centering.Centering | None = None  # the means the index's vectors were centered by

    def raw_lookup(self, ids: list[int]) -> dict[int, np.ndarray]:
        """`retrieve(raw_vectors=...)` for this index: as the database returns Article.embedding."""
        return {i: self.raw_vectors[i] for i in ids if i in self.raw_vectors}

    def add_queries(self, queries: list[corpus.JudgedQuery]) -> None:
        """Encodes (and caches) the vectors of judged queries and answers this index has not seen."""
        new = [q for q in queries if q.id not in self.query_vectors or (q.answer and q.id not in self.answer_vectors)]
        if not new:
            return
        vectors = _encode_cached(self.model, [q.query for q in new], "queries", queries=True)
        self.query_vectors.update({q.id: v for q, v in zip(new, vectors, strict=True)})
        answered = [q for q in new if q.answer]
        if answered:
            vectors = _encode_cached(self.model, [q.answer for q in answered], "answers")
            self.answer_vectors.update({q.id: v for q, v in zip(answered, vectors, strict=True)})


def _encode_cached(model, texts: list[str], cache_name: str, *, queries: bool = False) -> np.ndarray:
    """Encodes texts with `model` (as queries or as passages), caching the vectors under DATA_DIR by
    model name and content hash."""
    digest = hashlib.sha1("\x1e".join([model.name, str(getattr(model, "library_share", "")), *texts]).encode("utf-8")).hexdigest()[:16]
    path = Path(settings.DATA_DIR) / "relevance" / f"{cache_name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = model.encode_queries(texts) if queries else model.encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def fixture_documents() -> list[tuple[str, IndexDocument, str]]:
    """(corpus id, document without vector, passage) for every article and near-duplicate."""
    from recommender.embeddings import article_passage  # noqa: PLC0415

    out = []
    items = [(a, True) for a in corpus.articles()] + [(a, False) for a in corpus.near_duplicates()]
    for number, (item, published) in enumerate(items, start=1):
        text = "\n".join(item.paragraphs)
        doc = IndexDocument(
            id=number, tokens=" ".join(tokenize(f"{item.title}\n{text}")), title=item.title, language=item.lang,
            category=item.category, origin="open_data", status="approved" if published else "pending",
            published=published,
        )
        out.append((item.id, doc, article_passage(title=item.title, summary="", text=text)))
    return out


_SAVED = object()


def fixture_centering(index: "FixtureIndex") -> centering.Centering:
    """Per-language means of the fixture corpus's published passage vectors (what `search_tune` saves)."""
    rows = fixture_documents()
    published = [(doc.id, doc.language) for _, doc, _ in rows if doc.published]
    return centering.fit(index.model_name, np.array([index.raw_vectors[i] for i, _ in published]),
                         [language for _, language in published])


def fixture_index(directory: Path | None = None, *, means=_SAVED) -> FixtureIndex:
    """An embedded index of the fixture corpus plus the judged queries' vectors.

    A library vector model (EMBEDDING_MODEL=library or composite) is fitted on the fixture corpus
    (near-duplicates left out, as the refit leaves them out), in memory: the saved fit of the real library is left alone.
    The documents' vectors are centered as `article_document` centers them: by the committed means
    when they are this model's, or by `means` (None: raw vectors).
    """
    from recommender.embeddings import encoder  # noqa: PLC0415 - heavy, lazy
    from recommender.search.embedded import EmbeddedBackend  # noqa: PLC0415

    rows = fixture_documents()
    model = encoder(library=library_vectors.fit([doc.tokens.split() for _, doc, _ in rows if doc.published]))
    vectors = _encode_cached(model, [passage for _, _, passage in rows], "articles")
    means = centering.for_model(model.name) if means is _SAVED else means
    raw = {}
    for (_, doc, _), vector in zip(rows, vectors, strict=True):
        raw[doc.id] = vector
        doc.vector, doc.vector_model = vector, model.name
        if means is not None:
            doc.vector, doc.vector_model = means.document_vector(vector, doc.language)
    temporary = None
    if directory is None:
        temporary = tempfile.TemporaryDirectory(prefix="relevance-")
        directory = Path(temporary.name)
    backend = EmbeddedBackend(directory)
    backend.rebuild([[doc for _, doc, _ in rows]])
    index = FixtureIndex(backend=backend, doc_ids={doc.id: cid for cid, doc, _ in rows}, query_vectors={},
                         model_name=model.name, directory=temporary, model=model, raw_vectors=raw,
                         means=means)
    index.add_queries(corpus.queries())
    return index


def ndcg(ranked: list[str], relevant: dict[str, int], at: int = NDCG_AT) -> float:
    gains = [(2 ** relevant.get(doc, 0) - 1) / math.log2(i + 2) for i, doc in enumerate(ranked[:at])]
    ideal = [(2**g - 1) / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:at])]
    return sum(gains) / sum(ideal) if ideal else 0.0


def recall(ranked: list[str], relevant: dict[str, int], at: int = RECALL_AT) -> float:
    return len(set(ranked[:at]) & set(relevant)) / len(relevant) if relevant else 0.0


@dataclass
class QueryOutcome:
    query: corpus.JudgedQuery
    result: RetrievalResult
    ranked: list[str]

    @property
    def answerable(self) -> bool:
        return bool(self.query.relevant)


@dataclass
class Report:
    mode: str
    outcomes: list[QueryOutcome] = field(default_factory=list)

    def _answerable(self, language: str | None = None) -> list[QueryOutcome]:
        return [o for o in self.outcomes if o.answerable and (language is None or o.query.lang == language)]

    def ndcg(self, language: str | None = None) -> float:
        rows = self._answerable(language)
        return sum(ndcg(o.ranked, o.query.relevant) for o in rows) / len(rows) if rows else 0.0

    def recall(self, language: str | None = None) -> float:
        rows = self._answerable(language)
        return sum(recall(o.ranked, o.query.relevant) for o in rows) / len(rows) if rows else 0.0

    def flagged_unanswerable(self) -> float:
        rows = [o for o in self.outcomes if not o.answerable]
        return sum(o.result.nothing_fits for o in rows) / len(rows) if rows else 0.0

    def hidden_answerable(self) -> float:
        rows = self._answerable()
        return sum(o.result.nothing_fits for o in rows) / len(rows) if rows else 0.0


def queries_of(half: str) -> list[corpus.JudgedQuery]:
    """The judged queries of the committed "dev" or "test" half ("all" for every query)."""
    queries = corpus.queries()
    if half == "all":
        return queries
    ids = set(split_load()[half])
    return [q for q in queries if q.id in ids]


def evaluate(index: FixtureIndex, queries: Iterable[corpus.JudgedQuery], *, mode: str,
             params: dict[str, FusionParams] | None = None, with_answers: bool = False,
             progress: Callable[[str], None] = lambda _: None) -> Report:
    """Scores `queries` (the question alone, or with `with_answers` the question plus its written
    answer, where it has one)."""
    report = Report(mode)
    for query in queries:
        answer = query.answer if with_answers else ""
        # The judged set's answers are written prose (general knowledge), as a model or a host site writes.
        result = retrieve(query.query, answer=answer, answer_vector=index.answer_vectors.get(query.id) if answer else None,
                          answer_kind="written",
                          k=RECALL_AT, mode=mode, backend=index.backend,
                          query_vector=index.query_vectors[query.id], check_database=False, params=params,
                          raw_vectors=index.raw_lookup)
        report.outcomes.append(QueryOutcome(query, result, [index.doc_ids[i] for i in result.ids]))
        progress(query.id)
    return report


# --- tuning (development half only)

FUSION_GRID = [
    *(("weighted", round(w, 2), 60) for w in np.linspace(0.0, 1.0, 11)),
    *(("minmax", round(w, 2), 60) for w in np.linspace(0.0, 1.0, 11)),
    *(("rrf", round(w, 2), rk) for w in np.linspace(0.0, 1.0, 11) for rk in (5, 20, 60)),
]
HIDE_AT_MOST = 0.05  # on dev, leaving a margin under the 10% goal for the test half


def _fit_model(rows: list[tuple[list[float], bool]]) -> tuple[tuple[float, ...], float]:
    """A logistic model of "some article fits" from raw top scores (lexical, or lexical and vector):
    (intercept, one weight per score), and its threshold: the highest that hides at most
    HIDE_AT_MOST of the answerable dev queries."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    x = np.array([scores for scores, _ in rows], dtype=float)
    y = np.array([answerable for _, answerable in rows], dtype=int)
    if len(set(y)) < 2:
        return (3.0, *([0.0] * x.shape[1])), 0.5
    # Fitted on standardized scores, so that the penalty treats both alike (cosine similarities of
    # some models vary over a few hundredths, BM25 over units); then folded back into raw-score terms.
    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    model = LogisticRegression(C=10.0, class_weight="balanced").fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    coef = (float(model.intercept_[0] - (weights * mean).sum()), *(float(w) for w in weights))
    probabilities = model.predict_proba((x - mean) / scale)[:, 1]
    answerable = sorted(p for p, label in zip(probabilities, y, strict=True) if label)
    allowed = int(math.floor(HIDE_AT_MOST * len(answerable)))
    # Strictly below the (allowed+1)-th lowest answerable probability hides exactly `allowed` of them.
    threshold = float(answerable[allowed]) - 1e-6 if answerable else 0.5
    return coef, threshold


ANSWER_WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0)


def _tune_answer_weights(index: FixtureIndex, queries: list[corpus.JudgedQuery], fusion: FusionParams,
                         language: str) -> tuple[float, float]:
    """The answer's lexical and vector weights with the best question + answer nDCG@5 on these dev
    queries; ties go to the smaller weights (nearer the question alone). (0, 0) is the question alone."""
    if not queries:
        return 0.0, 0.0
    scored = []
    for lexical_weight in ANSWER_WEIGHT_GRID:
        for vector_weight in ANSWER_WEIGHT_GRID:
            params = replace(fusion, answer_lexical_weight=lexical_weight, answer_vector_weight=vector_weight)
            report = evaluate(index, queries, mode="hybrid", params={language: params}, with_answers=True)
            scored.append((-round(report.ndcg(), 4), lexical_weight + vector_weight, lexical_weight, vector_weight))
    _, _, lexical_weight, vector_weight = min(scored)
    return lexical_weight, vector_weight


def tune(index: FixtureIndex, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Chooses fusion and nothing-fits parameters per language from the development half only."""
    dev = queries_of("dev")
    languages: dict[str, dict] = {}
    for language in sorted({q.lang for q in dev}):
        queries = [q for q in dev if q.lang == language]
        scored = []
        for method, vector_weight, rrf_k in FUSION_GRID:
            params = FusionParams(method=method, lexical_weight=round(1 - vector_weight, 2),
                                  vector_weight=vector_weight, rrf_k=rrf_k)
            report = evaluate(index, queries, mode="hybrid", params={language: params})
            # Ties go to the grid point in the middle of its plateau (most robust), then to weighted fusion.
            scored.append((round(report.ndcg(), 4), round(report.recall(), 4), method == "weighted", params))
            progress(f"{language} {method} {vector_weight}")
        best_score = max(s[:3] for s in scored)
        plateau = [s[3] for s in scored if s[:3] == best_score]
        chosen = plateau[len(plateau) // 2]
        report = evaluate(index, queries, mode="hybrid", params={language: chosen})
        coef, threshold = _fit_model([([o.result.lexical_top, o.result.vector_top or 0.0], o.answerable)
                                      for o in report.outcomes])
        lexical_coef, lexical_threshold = _fit_model([([o.result.lexical_top], o.answerable) for o in report.outcomes])
        answer_lexical, answer_vector = _tune_answer_weights(index, [q for q in queries if q.answer], chosen, language)
        progress(f"{language} answers")
        languages[language] = {
            "answer_lexical_weight": answer_lexical, "answer_vector_weight": answer_vector,
            "method": chosen.method, "lexical_weight": chosen.lexical_weight, "vector_weight": chosen.vector_weight,
            "rrf_k": chosen.rrf_k, "fit_coef": [round(c, 6) for c in coef], "fit_threshold": round(threshold, 6),
            "lexical_fit_coef": [round(c, 6) for c in lexical_coef], "lexical_fit_threshold": round(lexical_threshold, 6),
        }
    return {"tuned_on": "dev", "split_file": "recommender/search/relevance_split.json", "languages": languages}
