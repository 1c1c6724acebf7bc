"""Would centering e5's vectors per language help retrieval? Dev half only: the measurement that led to it.

multilingual-e5 puts a text's language into its vector: a Chinese question's nearest articles are
Chinese ones, and an English article that answers it ranks 9th-28th of the fixture corpus's 60 by
cosine, or lower (docs/BENCHMARKS.md, "Relevance"). Subtracting each language's mean vector and
re-normalizing (Libovický et al., "On the language neutrality of pre-trained multilingual
representations", 2020) removes that component. This script scores, on the judged dev half, vector
and hybrid retrieval with the raw vectors and with centered ones (documents by their language's
mean document vector; the query by its language's mean document vector, or by its language's mean
dev query vector), the hybrid with the best single fusion weight for both languages found on dev
for each variant. Built in with nothing-fits fitted on centered cosines, it flagged 41% of dev's
unanswerable queries instead of 81% and the answers' first reference got worse; the product now
centers the index's vectors (recommender/search/centering.py) but keeps nothing-fits and the
answers on the raw cosines (docs/BENCHMARKS.md, "Relevance"). This script starts from the raw index.

    LOCAL_SECRET_KEY=1 .venv/bin/python bench/vector_centering.py
"""
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from recommender.retrieval import tuned_params  # noqa: E402
from recommender.search import relevance  # noqa: E402
from recommender.search.embedded import EmbeddedBackend  # noqa: E402
from recommender.text import detect_language  # noqa: E402

LANGUAGES = ("zh", "en")
FUSION = [(method, round(w, 1)) for method in ("weighted", "minmax") for w in np.linspace(0.0, 1.0, 11)]


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def best_hybrid(index: relevance.FixtureIndex, queries) -> tuple[float, str, float, relevance.Report]:
    best = None
    for method, weight in FUSION:
        params = {language: replace(p, method=method, lexical_weight=round(1 - weight, 1), vector_weight=weight)
                  for language, p in tuned_params().items()}
        report = relevance.evaluate(index, queries, mode="hybrid", params=params)
        if best is None or report.ndcg() > best[0]:
            best = (report.ndcg(), method, weight, report)
    return best


def main() -> None:
    index = relevance.fixture_index(means=None)  # raw vectors, whatever means are committed
    rows = relevance.fixture_documents()
    vectors = relevance._encode_cached(index.model, [passage for _, _, passage in rows], "articles")
    languages = np.array([doc.language for _, doc, _ in rows])
    published = np.array([doc.published for _, doc, _ in rows])
    dev = relevance.queries_of("dev")
    document_mean = {lang: vectors[(languages == lang) & published].mean(axis=0) for lang in LANGUAGES}
    query_mean = {lang: np.mean([index.query_vectors[q.id] for q in dev if q.lang == lang], axis=0) for lang in LANGUAGES}
    centered_docs = [replace(doc, vector=unit(v - document_mean[doc.language])) for (_, doc, _), v in zip(rows, vectors)]
    directory = tempfile.TemporaryDirectory(prefix="centering-")
    backend = EmbeddedBackend(Path(directory.name))
    backend.rebuild([centered_docs])
    print(f"{'variant':44s} {'vector nDCG@5':>13s} {'hybrid nDCG@5':>13s} {'zh':>6s} {'en':>6s}  fusion (dev)")
    vector = relevance.evaluate(index, dev, mode="vector")
    score, method, weight, report = best_hybrid(index, dev)
    print(f"{'raw e5 vectors':44s} {vector.ndcg():13.3f} {score:13.3f} {report.ndcg('zh'):6.3f} {report.ndcg('en'):6.3f}"
          f"  {method} {weight}")
    for label, means in (("centered, query by mean document vector", document_mean),
                         ("centered, query by mean dev query vector", query_mean)):
        query_vectors = {}
        for query in dev:
            language = detect_language(query.query)
            query_vectors[query.id] = unit(index.query_vectors[query.id] - means[language if language in means else "en"])
        centered = relevance.FixtureIndex(backend=backend, doc_ids=index.doc_ids, query_vectors=query_vectors,
                                          model_name=index.model_name)
        vector = relevance.evaluate(centered, dev, mode="vector")
        score, method, weight, report = best_hybrid(centered, dev)
        print(f"{label:44s} {vector.ndcg():13.3f} {score:13.3f} {report.ndcg('zh'):6.3f} {report.ndcg('en'):6.3f}"
              f"  {method} {weight}")
    print(f"(dev half, {len(dev)} queries; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
