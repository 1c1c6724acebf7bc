"""Tuning on the development half: the nothing-fits models."""
import numpy as np

from recommender.retrieval import FusionParams
from recommender.search.relevance import _fit_model


def test_nothing_fits_fit_uses_a_narrow_band_of_cosine_scores():
    """Some models' cosine similarities span a few hundredths; the fit must still use them, in raw terms."""
    rng = np.random.default_rng(3)
    answerable = [([float(rng.uniform(0.2, 1.5)), float(rng.uniform(0.87, 0.93))], True) for _ in range(30)]
    unanswerable = [([float(rng.uniform(0.2, 1.5)), float(rng.uniform(0.80, 0.85))], False) for _ in range(10)]

    coef, threshold = _fit_model(answerable + unanswerable)

    params = FusionParams(fit_coef=coef, fit_threshold=threshold)
    flagged = [params.fit_probability(lex, vec) < threshold for (lex, vec), _ in unanswerable]
    hidden = [params.fit_probability(lex, vec) < threshold for (lex, vec), _ in answerable]
    assert sum(flagged) >= 9 and sum(hidden) <= 1


def test_lexical_only_fit_has_an_intercept_and_one_weight():
    rows = [([2.0], True), ([1.5], True), ([1.2], True), ([0.2], False), ([0.1], False)]
    coef, threshold = _fit_model(rows)
    params = FusionParams(lexical_fit_coef=coef, lexical_fit_threshold=threshold)
    assert len(coef) == 2 and coef[1] > 0
    assert params.fit_probability(1.5, None) >= threshold > params.fit_probability(0.1, None)
