"""Would more evidence than the two raw top scores separate "nothing fits"? Dev half only, cross-validated.

The nothing-fits model (`FusionParams.fit_probability`) is a per-language logistic regression on the
raw top scores (normalized BM25, raw cosine) with a threshold that hides at most 5% of the dev half's
answerable queries (`relevance._fit_model`). It flags 81% of dev's unanswerable and near-miss
queries but 72% of the test half's: near misses score like answerable queries on those two numbers.
This script computes, for every dev query over the same fixture index `search_relevance` uses
(centered vectors as committed), candidate extra features:

- cov1, cov3: the share of the query's BM25 idf whose terms the first (first three) hits hold;
- unseen: the share of the query's idf carried by terms no document holds (df = 0);
- gap5: the first minus the fifth raw cosine among the candidates;
- agree, overlap5: the lexical and raw-vector rankings' first document the same; their top-5 overlap;
- ctop: the centered top cosine (the index's own vector score), beside the raw one;
- nterms, nchars: the query's length in terms and characters (log).

Then for the two current features plus each one or two extras, per language, 20 × stratified 5-fold
cross-validation within dev: each training fold fits the model and its threshold by the product's
rule (C=10, balanced, standardized; hide ≤ 5%), the held-out fold is flagged by it; flagged and
hidden are pooled over folds, repeats and both languages. In-sample figures beside them. Nothing is
read from the test half.

    LOCAL_SECRET_KEY=1 .venv/bin/python bench/nothing_fits_cv.py
"""
import itertools
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contentlib.config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import RepeatedStratifiedKFold  # noqa: E402

from recommender.retrieval import retrieve  # noqa: E402
from recommender.search import relevance  # noqa: E402
from recommender.search.base import query_terms  # noqa: E402
from recommender.text import segmenter  # noqa: E402

HIDE_AT_MOST = relevance.HIDE_AT_MOST
BASE = ["lex", "vec"]
EXTRAS = ["cov1", "cov3", "unseen", "gap5", "agree", "overlap5", "ctop", "nterms", "nchars"]
REPEATS, FOLDS = 20, 5


def dev_features() -> list[dict]:
    index = relevance.fixture_index()
    tokens = {doc.id: set(doc.tokens.split()) for _, doc, _ in relevance.fixture_documents()}
    captured = {}
    search = index.backend.search

    def capturing(*args, **kwargs):
        captured["found"] = search(*args, **kwargs)
        return captured["found"]

    index.backend.search = capturing
    seg = segmenter()
    rows = []
    for q in relevance.queries_of("dev"):
        r = retrieve(q.query, k=10, mode="hybrid", backend=index.backend, query_vector=index.query_vectors[q.id],
                     check_database=False, raw_vectors=index.raw_lookup)
        found = captured["found"]
        terms = query_terms(seg.tokens(q.query[:2000].strip()))
        documents = max(found.documents, 1)
        idf = {t: math.log(1.0 + (documents - found.doc_freqs.get(t, 0) + 0.5) / (found.doc_freqs.get(t, 0) + 0.5))
               for t in terms}
        total = sum(idf.values()) or 1.0
        query = np.asarray(index.query_vectors[q.id], dtype=np.float32)
        candidates = list(dict.fromkeys([h.id for h in found.vector] + [h.id for h in found.lexical]))
        raw = sorted(((float(query @ index.raw_vectors[i]), i) for i in candidates), reverse=True)
        top = [h.id for h in (r.raw_hits or r.hits)]

        def coverage(n):
            held = set().union(*[tokens[i] for i in top[:n]]) if top[:n] else set()
            return sum(v for t, v in idf.items() if t in held) / total

        lexical_ids, vector_ids = [h.id for h in found.lexical[:5]], [i for _, i in raw[:5]]
        rows.append(dict(
            lang=r.language, answerable=bool(q.relevant), lex=r.lexical_top, vec=r.vector_top or 0.0,
            cov1=coverage(1), cov3=coverage(3),
            unseen=sum(v for t, v in idf.items() if found.doc_freqs.get(t, 0) == 0) / total,
            gap5=(raw[0][0] - raw[4][0]) if len(raw) >= 5 else 0.0,
            agree=float(bool(lexical_ids) and bool(vector_ids) and lexical_ids[0] == vector_ids[0]),
            overlap5=len(set(lexical_ids) & set(vector_ids)) / 5.0,
            ctop=found.vector[0].score if found.vector else 0.0,
            nterms=math.log(1 + len(terms)), nchars=math.log(1 + len(q.query))))
    return rows


def fit(x, y):
    """The product's rule (relevance._fit_model): standardized, C=10, balanced; hide ≤ HIDE_AT_MOST."""
    mean, scale = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
    model = LogisticRegression(C=10.0, class_weight="balanced").fit((x - mean) / scale, y)
    answerable = sorted(model.predict_proba((x - mean) / scale)[:, 1][y == 1])
    threshold = answerable[int(math.floor(HIDE_AT_MOST * len(answerable)))] - 1e-6
    return (lambda z: model.predict_proba((z - mean) / scale)[:, 1]), threshold


def matrix(rows, language, features):
    chosen = [r for r in rows if r["lang"] == language]
    return (np.array([[r[f] for f in features] for r in chosen]),
            np.array([int(r["answerable"]) for r in chosen]))


def cross_validated(rows, features):
    flagged = hidden = unanswerable = answerable = 0
    aucs = []
    for language in ("zh", "en"):
        x, y = matrix(rows, language, features)
        out_of_fold = np.zeros((REPEATS, len(y)))
        folds = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=REPEATS, random_state=0)
        for k, (train, held) in enumerate(folds.split(x, y)):
            predict, threshold = fit(x[train], y[train])
            p = predict(x[held])
            out_of_fold[k // FOLDS, held] = p
            flagged += ((p < threshold) & (y[held] == 0)).sum()
            hidden += ((p < threshold) & (y[held] == 1)).sum()
            unanswerable += (y[held] == 0).sum()
            answerable += (y[held] == 1).sum()
        aucs += [roc_auc_score(y, o) for o in out_of_fold]
    return flagged / unanswerable, hidden / answerable, float(np.mean(aucs))


def in_sample(rows, features):
    flagged = hidden = unanswerable = answerable = 0
    for language in ("zh", "en"):
        x, y = matrix(rows, language, features)
        predict, threshold = fit(x, y)
        flag = predict(x) < threshold
        flagged += (flag & (y == 0)).sum()
        hidden += (flag & (y == 1)).sum()
        unanswerable += (y == 0).sum()
        answerable += (y == 1).sum()
    return flagged / unanswerable, hidden / answerable


def main():
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", nargs="*", default=["lex+vec+unseen", "lex+vec+unseen+ctop"],
                        help="feature sets printed besides the best twelve and the current one")
    shown = set(parser.parse_args().show) | {"lex+vec"}
    rows = dev_features()
    for language in ("zh", "en"):
        print(language, sum(r["lang"] == language for r in rows), "dev queries,",
              sum(r["lang"] == language and not r["answerable"] for r in rows), "unanswerable or near miss")
    sets = [BASE] + [BASE + [e] for e in EXTRAS] + [BASE + list(c) for c in itertools.combinations(EXTRAS, 2)]
    scored = []
    for features in sets:
        flagged, hidden, auc = cross_validated(rows, features)
        scored.append((flagged - hidden, flagged, hidden, auc, *in_sample(rows, features), "+".join(features)))
    scored.sort(reverse=True)
    print("| features | CV flagged | CV hidden | CV AUC | in-sample flagged | in-sample hidden |")
    print("|---|---|---|---|---|---|")
    for _, flagged, hidden, auc, in_flagged, in_hidden, name in scored[:12] + [s for s in scored[12:] if s[-1] in shown]:
        print(f"| {name} | {flagged:.1%} | {hidden:.1%} | {auc:.3f} | {in_flagged:.1%} | {in_hidden:.1%} |")


if __name__ == "__main__":
    main()
