"""Would the cosine of *centered* e5 vectors separate fitting from unfitting promoted articles?
Dev half of the judged sponsored set only: a measurement, not a change to the auction.

multilingual-e5 vectors are anisotropic: every cosine of a question to a promoted article is
0.83-0.93, fit or not (docs/BENCHMARKS.md, "Sponsored relevance"). This takes every candidate the
auction scores on the dev half (every campaign a keyword matched, the floor at 0: the candidates
`manage.py sponsored_relevance --tune` fits on), and prints, for the raw cosine and for cosines of
vectors centered by a mean vector (subtracted from both sides, then re-normalized): its AUC over the
candidates labelled by the judgments, a paired bootstrap interval of its gain over the raw cosine,
and how it does beside word coverage in the fit model (the standardized logistic coefficients and
the 5-fold cross-validated AUC of cosine + coverage; coverage alone for comparison). With --tune it
then runs the tuning of `manage.py sponsored_relevance --tune` (ads.sponsored.tune, dev half) on the
same set with the book's and the questions' vectors centered in memory, and prints the model it
picks and its dev figures (nothing is written; ads/auction_tuning.json is left alone).

    LOCAL_SECRET_KEY=1 .venv/bin/python bench/auction_centering.py [--tune]
"""
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
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402

from ads import sponsored  # noqa: E402
from ads.auction import FitModel, tuned_fit  # noqa: E402
from recommender.answers.quality import fixture_library  # noqa: E402
from recommender.search import relevance  # noqa: E402
from recommender.text import detect_language  # noqa: E402


def unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)


def main() -> None:
    judged = sponsored.judged_set()
    setup = sponsored.setup_build(judged)
    dev = sponsored.questions_of(judged.questions, "dev")
    fit = FitModel(coef=(0.0, 1.0, 1.0), floor=0.0, answer_weight=0.0, unknown_weight=tuned_fit().unknown_weight)
    _, outcomes = sponsored.evaluate(setup, dev, fit=fit)
    row_of = {p.article_id: p.row for c in setup.book.campaigns.values() for p in c.promotions}
    coverage, labels, questions, rows, answers, q_lang, a_lang = [], [], [], [], [], [], []
    for q in dev:
        case = setup.cases[q.id]
        for o in outcomes[q.id].outcomes.values():
            if o.features is None:
                continue
            article = judged.articles[setup.article_ids[o.article_id]]
            coverage.append(o.features[1])
            labels.append(int(q.fits.get(article.id, 0) >= 1))
            questions.append(case.vector)
            answers.append(case.answer_vector)
            rows.append(row_of[o.article_id])
            q_lang.append(detect_language(q.question))
            a_lang.append(detect_language(f"{article.title} {article.body[:200]}"))
    y, cov = np.array(labels), np.array(coverage)
    Q, A = np.asarray(questions, dtype=np.float32), setup.book.vectors[rows]
    has_answer = np.array([a is not None for a in answers])
    ans = np.array([a if a is not None else np.zeros(A.shape[1]) for a in answers], dtype=np.float32)
    print(f"dev candidates {len(y)} ({y.sum()} fit), {has_answer.sum()} with an answer vector")

    # The means: the library's approved articles (the fixture corpus's published ones) with the
    # promoted ones, as a CampaignBook built from the library could hold them; per language; the
    # promoted articles only; and for the question side, the mean of other questions' vectors (the
    # search set's judged dev queries: e5 encodes "query: " and "passage: " texts apart).
    library = fixture_library()
    docs = relevance.fixture_documents()
    doc_vectors = relevance._encode_cached(library.index.model, [p for _, _, p in docs], "articles")
    published = np.array([d.published for _, d, _ in docs])
    languages = np.array([d.language for _, d, _ in docs])[published]
    library_vectors = np.vstack([doc_vectors[published], setup.book.vectors])
    library_languages = np.concatenate([languages, [detect_language(f"{judged.articles[a].title} {judged.articles[a].body[:200]}")
                                                    for a in sorted(judged.articles)]])
    library_mean = library_vectors.mean(axis=0)
    per_language = {lang: library_vectors[library_languages == lang].mean(axis=0) for lang in set(library_languages)}
    search_dev = {q.id for q in relevance.queries_of("dev")}
    query_mean = np.mean([v for k, v in library.index.query_vectors.items() if k in search_dev], axis=0)

    raw = np.sum(unit(Q) * A, axis=1)
    rng = np.random.default_rng(0)
    boots = [rng.integers(0, len(y), len(y)) for _ in range(2000)]
    boots = [b for b in boots if 0 < y[b].sum() < len(b)]
    folds = StratifiedKFold(5, shuffle=True, random_state=0)

    def cv_auc(features: np.ndarray) -> float:
        z = (features - features.mean(0)) / features.std(0)
        p = cross_val_predict(LogisticRegression(C=10.0, class_weight="balanced"), z, y, cv=folds,
                              method="predict_proba")[:, 1]
        return roc_auc_score(y, p)

    print(f"coverage alone: AUC {roc_auc_score(y, cov):.3f}, cross-validated {cv_auc(cov[:, None]):.3f}\n")
    print(f"{'cosine':58s} {'AUC':>6s} {'gain over raw, 95% bootstrap':>29s} {'with coverage: std. coef':>25s} {'cv AUC':>7s}")

    def row(label: str, cosine: np.ndarray) -> None:
        gains = [roc_auc_score(y[b], cosine[b]) - roc_auc_score(y[b], raw[b]) for b in boots]
        both = np.column_stack([cosine, cov])
        coef = LogisticRegression(C=10.0, class_weight="balanced").fit((both - both.mean(0)) / both.std(0), y).coef_[0]
        lo, hi = np.percentile(gains, [2.5, 97.5])
        print(f"{label:58s} {roc_auc_score(y, cosine):6.3f} {np.mean(gains):+9.3f} [{lo:+.3f}, {hi:+.3f}]     "
              f"cos {coef[0]:+.2f}, cov {coef[1]:+.2f} {cv_auc(both):9.3f}")

    mean_q = np.array([per_language.get(lang, library_mean) for lang in q_lang])
    mean_a = np.array([per_language.get(lang, library_mean) for lang in a_lang])
    row("raw (the auction's now)", raw)
    row("centered, library mean (approved + promoted)", np.sum(unit(Q - library_mean) * unit(A - library_mean), 1))
    row("centered, promoted articles' mean", np.sum(unit(Q - setup.book.vectors.mean(0))
                                                  * unit(A - setup.book.vectors.mean(0)), 1))
    row("centered per language, library means", np.sum(unit(Q - mean_q) * unit(A - mean_a), 1))
    row("centered, question by a query mean, article by library's", np.sum(unit(Q - query_mean) * unit(A - library_mean), 1))
    for w in (0.25, 0.5):
        answer = np.where(has_answer[:, None], unit(ans - library_mean), 0)
        row(f"question + {w} × answer, centered (library mean)",
            np.sum(unit(unit(Q - library_mean) + w * answer) * unit(A - library_mean), 1))
    a_raw = np.sum(unit(ans[has_answer]) * A[has_answer], 1)
    a_cen = np.sum(unit(ans[has_answer] - library_mean) * unit(A[has_answer] - library_mean), 1)
    if "--tune" in sys.argv:
        tune_centered(setup, dev, library_mean, query_mean)
    print(f"\nthe answer's cosine alone, on the {has_answer.sum()} candidates with one: raw AUC "
          f"{roc_auc_score(y[has_answer], a_raw):.3f}, centered (library mean) {roc_auc_score(y[has_answer], a_cen):.3f}")


def tune_centered(setup, dev, library_mean: np.ndarray, query_mean: np.ndarray) -> None:
    raw_vectors = setup.book.vectors
    raw_cases = {k: (c.vector, c.answer_vector) for k, c in setup.cases.items()}
    for label, question_mean in (("library mean", library_mean), ("question by a query mean", query_mean)):
        setup.book.vectors = unit(raw_vectors - library_mean).astype(np.float32)
        for k, case in setup.cases.items():
            vector, answer = raw_cases[k]
            case.vector = unit(vector - question_mean).astype(np.float32)
            case.answer_vector = None if answer is None else unit(answer - library_mean).astype(np.float32)
        fit, scores, _info = sponsored.tune(setup, dev)
        print(f"\ntuned on dev, centered ({label}): coefficients {fit.coef}, floor {fit.floor}, answer weight "
              f"{fit.answer_weight}, unknown-word weight {fit.unknown_weight}; dev precision {scores.precision():.3f} "
              f"({scores.slots()} slots), filled {scores.filled():.3f}, empty {scores.empty():.3f}, "
              f"traps empty {scores.empty(('keyword_trap',)):.3f}")
    setup.book.vectors = raw_vectors
    for k, case in setup.cases.items():
        case.vector, case.answer_vector = raw_cases[k]


if __name__ == "__main__":
    main()
