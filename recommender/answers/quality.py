"""How good the answers are, on judged queries: faithfulness, answered, citation precision, honest
"no answer", and retrieval from question + answer against the question alone (nDCG@5).

It runs the providers' own code over the fixture corpus indexed into a throw-away embedded index,
exactly as `manage.py search_relevance` measures retrieval (recommender.search.relevance): the same
retrieval, the same reference rules (no advertiser's article: the corpus marks them), the same
composer. Faithfulness is checked against each cited article's text as indexed.
"""
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from contentlib import corpus
from recommender.answers import answer_kind, citations, extractive
from recommender.answers.base import Draft, Reference
from recommender.answers.services import MAX_REFERENCES, RETRIEVE_K, answer_nothing_fits, derived_vector
from recommender.retrieval import FusionParams, RetrievalResult, retrieve
from recommender.search import relevance


@dataclass
class FixtureLibrary:
    index: relevance.FixtureIndex
    references: dict[int, Reference]  # index id -> reference (advertisers' articles and near-duplicates left out)
    corpus_ids: dict[int, str]
    # By query text, with the seconds it took: the same for every provider and parameter (tuning).
    retrievals: dict[str, tuple[RetrievalResult, float]] = field(default_factory=dict)

    def retrieve(self, query: str, vector: np.ndarray) -> tuple[RetrievalResult, float]:
        if query not in self.retrievals:
            started = time.perf_counter()
            result = retrieve(query, k=RETRIEVE_K, backend=self.index.backend, query_vector=vector,
                              check_database=False, raw_vectors=self.index.raw_lookup)
            self.retrievals[query] = (result, time.perf_counter() - started)
        return self.retrievals[query]


def fixture_library(queries: list[corpus.JudgedQuery] | None = None,
                    index: relevance.FixtureIndex | None = None) -> FixtureLibrary:
    """The fixture index (`index`, or a new one) plus every organic article as a Reference with its
    stored passage vector; `queries` from a judged set of elsewhere are encoded too."""
    index = index or relevance.fixture_index()
    if queries:
        index.add_queries(queries)
    rows = relevance.fixture_documents()
    vectors = relevance._encode_cached(index.model, [passage for _, _, passage in rows], "articles")
    items = {a.id: a for a in corpus.articles()}
    references = {}
    for (corpus_id, doc, _passage), vector in zip(rows, vectors, strict=True):
        item = items.get(corpus_id)
        if item is None or item.advertiser or not doc.published:
            continue
        references[doc.id] = Reference(id=doc.id, title=item.title, text="\n".join(item.paragraphs),
                                       language=item.lang, vector=np.asarray(vector, dtype=np.float32))
    return FixtureLibrary(index=index, references=references, corpus_ids=index.doc_ids)


@dataclass
class Outcome:
    query: corpus.JudgedQuery
    retrieval: RetrievalResult
    references: list[Reference]
    draft: Draft
    ranked_question: list[str]  # corpus ids retrieved from the question alone
    ranked_combined: list[str]  # … from question + answer
    seconds: float
    ranked_encoded: list[str] | None = None  # … from question + answer with the text encoded by the model

    @property
    def answerable(self) -> bool:
        return bool(self.query.relevant)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    corpus_ids: dict[int, str] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    organic: set[str] = field(default_factory=set)  # corpus ids an answer may cite

    def cited_passages(self) -> list[tuple[str, str]]:
        """(passage, the text of the article it cites) for every citation of every answer."""
        out = []
        for o in self.outcomes:
            for passage, numbers in citations.cited_sentences(o.draft.text):
                for n in numbers:
                    if 1 <= n <= len(o.draft.cited):
                        out.append((passage, self.texts[o.draft.cited[n - 1]]))
        return out

    def faithfulness(self, *, verbatim: bool) -> float:
        rows = self.cited_passages()
        check = citations.appears_in if verbatim else citations.supported
        return sum(check(p, t) for p, t in rows) / len(rows) if rows else 1.0

    def _answerable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.answerable]

    def answered(self, min_grade: int = 1, *, organic_only: bool = False) -> float:
        """`organic_only`: of the questions some organic article answers (the others have only
        advertisers' articles judged relevant, which an answer never cites)."""
        rows = self._answerable()
        if organic_only:
            rows = [o for o in rows if set(o.query.relevant) & self.organic]
        hits = sum(any(o.query.relevant.get(self.corpus_ids[i], 0) >= min_grade for i in o.draft.cited) for o in rows)
        return hits / len(rows) if rows else 0.0

    def citation_precision(self) -> float:
        cited = [(o, i) for o in self._answerable() for i in o.draft.cited]
        return sum(self.corpus_ids[i] in o.query.relevant for o, i in cited) / len(cited) if cited else 0.0

    def citations_per_answer(self) -> float:
        rows = [o for o in self.outcomes if not o.draft.no_answer]
        return sum(len(o.draft.cited) for o in rows) / len(rows) if rows else 0.0

    def no_answer_unanswerable(self) -> float:
        rows = [o for o in self.outcomes if not o.answerable]
        return sum(o.draft.no_answer for o in rows) / len(rows) if rows else 0.0

    def no_answer_answerable(self) -> float:
        rows = self._answerable()
        return sum(o.draft.no_answer for o in rows) / len(rows) if rows else 0.0

    def ndcg(self, which: str) -> float:
        rows = self._answerable()
        ranked = {"question": lambda o: o.ranked_question, "combined": lambda o: o.ranked_combined,
                  "encoded": lambda o: o.ranked_encoded or []}[which]
        return sum(relevance.ndcg(ranked(o), o.query.relevant) for o in rows) / len(rows) if rows else 0.0

    def latency_ms(self, quantile: float) -> float:
        return float(np.quantile([o.seconds for o in self.outcomes], quantile) * 1000) if self.outcomes else 0.0


def references_of(library: FixtureLibrary, result: RetrievalResult) -> list[Reference]:
    """As `services.references_from`: organic articles only, in rank order, at most MAX_REFERENCES."""
    out = []
    for hit in result.reference_hits:
        reference = library.references.get(hit.id)
        if reference is not None:
            out.append(Reference(**{**reference.__dict__, "score": hit.score}))
        if len(out) >= MAX_REFERENCES:
            break
    return out


def evaluate(library: FixtureLibrary, queries: Iterable[corpus.JudgedQuery], *, provider=None,
             params: extractive.ExtractiveParams | None = None, encode: Callable[[str], np.ndarray] | None = None,
             min_fit: float | None = None, combined: bool = True, search_params: dict[str, FusionParams] | None = None,
             progress: Callable[[str], None] = lambda _: None) -> Report:
    """Answers every query as `answer_question` does (retrieval, organic references, the provider),
    without the database; `encode` (a passage encoder) also scores question + answer with the answer's
    text encoded, against its vector derived from the cited passages. `search_params` replace the
    tuned retrieval parameters for question + answer only (tuning its answer weights)."""
    index = library.index
    report = Report(corpus_ids=library.corpus_ids, texts={i: r.text for i, r in library.references.items()},
                    organic={library.corpus_ids[i] for i in library.references})
    for query in queries:
        vector = index.query_vectors[query.id]
        result, retrieval_seconds = library.retrieve(query.query, vector)
        started = time.perf_counter()
        references = references_of(library, result)
        nothing_fits = answer_nothing_fits(result, references, min_fit=min_fit)
        if provider is None:
            draft = extractive.compose(query.query, references, language=result.language, nothing_fits=nothing_fits,
                                       params=params or extractive.DEFAULT_PARAMS)
        else:
            draft = provider.answer(query.query, references, language=result.language, nothing_fits=nothing_fits)
        seconds = retrieval_seconds + time.perf_counter() - started
        ranked_question = [index.doc_ids[i] for i in result.ids]
        ranked_combined, ranked_encoded = ranked_question, None
        if combined and not draft.no_answer:
            # As the auction and the pages will ask: retrieval's own question + answer (recommender.retrieval).
            by_id = {r.id: r for r in references}
            answer_text = citations.strip_markers(draft.text)
            derived = derived_vector([by_id[i].vector for i in draft.cited if i in by_id])
            kind = answer_kind(provider=draft.provider, notice=draft.notice)
            again = retrieve(query.query, answer=answer_text, answer_vector=derived, answer_kind=kind, k=RETRIEVE_K,
                             backend=index.backend, query_vector=vector, check_database=False, params=search_params,
                             raw_vectors=index.raw_lookup)
            ranked_combined = [index.doc_ids[i] for i in again.ids]
            if encode is not None:
                encoded = retrieve(query.query, answer=answer_text, answer_vector=encode(answer_text), answer_kind=kind,
                                   k=RETRIEVE_K, backend=index.backend, query_vector=vector, check_database=False,
                                   params=search_params, raw_vectors=index.raw_lookup)
                ranked_encoded = [index.doc_ids[i] for i in encoded.ids]
        elif encode is not None:
            ranked_encoded = ranked_question
        report.outcomes.append(Outcome(query, result, references, draft, ranked_question, ranked_combined, seconds,
                                       ranked_encoded))
        progress(query.id)
    return report


# --- tuning (development half only)

GRID = [
    (extractive.ExtractiveParams(max_sentences=s, max_cited=c, language_window=w, min_coverage=m), fit)
    for s in (2, 3) for c in (1, 2) for w in (1, 2) for m in (0.2, 0.3, 0.45) for fit in (0.0, 0.25, 0.3, 0.4, 0.5)
]


def objective(report: Report) -> tuple:
    """Meets the no-answer goals first (with a margin on dev), then answered + citation precision."""
    honest = report.no_answer_unanswerable() >= 0.8 and report.no_answer_answerable() <= 0.08
    return (honest, round(report.answered() + report.citation_precision(), 4), report.no_answer_unanswerable())


def tune(library: FixtureLibrary, queries: list[corpus.JudgedQuery], progress: Callable[[str], None] = lambda _: None
         ) -> tuple[extractive.ExtractiveParams, float, Report]:
    """The extractive parameters and the answer's minimum fit probability that do best on `queries`
    (the dev half), by `objective`."""
    best = None
    for params, min_fit in GRID:
        report = evaluate(library, queries, params=params, min_fit=min_fit, combined=False)
        key = objective(report)
        if best is None or key > best[0]:
            best = (key, params, min_fit, report)
        progress(str(params))
    return best[1], best[2], best[3]


EXTRACTIVE_ANSWER_WEIGHT_GRID = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)


def tune_extractive_answer_weights(library: FixtureLibrary, queries: list[corpus.JudgedQuery],
                                   languages: dict[str, FusionParams]) -> dict[str, tuple[float, float]]:
    """Per language, the (lexical, vector) weights of an extractive answer in `retrieve(answer=...)`
    with the best question + extractive answer nDCG@5 on `queries` (the dev half); ties go to the
    smaller weights, (0, 0) being the question alone. `languages`: the retrieval parameters just tuned."""
    chosen = {}
    for language, fusion in languages.items():
        subset = [q for q in queries if q.lang == language]
        scored = []
        for lexical_weight in EXTRACTIVE_ANSWER_WEIGHT_GRID:
            for vector_weight in EXTRACTIVE_ANSWER_WEIGHT_GRID:
                params = dict(languages)
                params[language] = replace(fusion, extractive_answer_lexical_weight=lexical_weight,
                                           extractive_answer_vector_weight=vector_weight)
                report = evaluate(library, subset, search_params=params)
                scored.append((-round(report.ndcg("combined"), 4), lexical_weight + vector_weight, lexical_weight,
                               vector_weight))
        _, _, lexical_weight, vector_weight = min(scored) if scored else (0, 0, 0.0, 0.0)
        chosen[language] = (lexical_weight, vector_weight)
    return chosen
