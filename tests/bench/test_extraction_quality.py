"""The real-page benchmark's metric as bench/extraction_quality.py computes it (its README's definition)."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "extraction_quality", Path(__file__).resolve().parents[2] / "bench" / "extraction_quality.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_shingles_are_4_token_windows_of_word_tokens_and_a_short_text_is_one():
    assert bench.shingles("The cat, the hat!") == {("The", "cat", "the", "hat"): 1}
    assert bench.shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert bench.shingles("只有 两词") == {("只有", "两词"): 1}
    assert bench.shingles("") == {}


def test_page_scores_are_normalized_so_that_long_pages_weigh_no_more():
    truth = "one two three four five six"  # 3 shingles
    tp, fp, fn = bench.shingle_scores(truth, "one two three four five six seven [link](http://x)")  # +4 extra
    assert (tp, fp, fn) == pytest.approx((3 / 7, 4 / 7, 0))
    assert bench.page_precision(tp, fp, fn) == pytest.approx(3 / 7) and bench.page_recall(tp, fp, fn) == 1


def test_means_leave_out_pages_with_nothing_to_score_and_f1_is_of_the_means():
    perfect, empty_prediction, nothing_either_side = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 0.0)
    precision, recall, f1 = bench.benchmark_metrics([perfect, empty_prediction, nothing_either_side])
    assert precision == pytest.approx(1.0)  # the empty prediction has TP + FP = 0: no precision
    assert recall == pytest.approx(0.5)  # ... but recall 0; the page with nothing on either side is left out
    assert f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)
