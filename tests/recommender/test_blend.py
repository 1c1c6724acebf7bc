"""The blend of a content-ranked list with co-occurrence neighbours (recommender/blend.py)."""
from recommender.blend import BlendWeights, blend, weights_for

CONTENT = [("a", 0.9), ("b", 0.8), ("c", 0.7)]


def test_little_traffic_keeps_the_content_list_as_it_is():
    assert blend(CONTENT, [("z", 500.0)], weights=BlendWeights(0.9), little_traffic=True) == ["a", "b", "c"]


def test_a_strong_neighbour_outside_the_content_list_enters_it():
    assert blend(CONTENT, [("z", 500.0), ("c", 20.0)], weights=BlendWeights(0.8), little_traffic=False)[0] == "z"


def test_a_zero_weight_or_no_neighbours_is_content_alone():
    assert blend(CONTENT, [("z", 500.0)], weights=BlendWeights(0.0), little_traffic=False) == ["a", "b", "c"]
    assert blend(CONTENT, [], weights=BlendWeights(0.9), little_traffic=False) == ["a", "b", "c"]


def test_the_limit_cuts_the_blended_list():
    assert len(blend(CONTENT, [("z", 5.0), ("y", 4.0)], weights=BlendWeights(0.5), little_traffic=False, limit=2)) == 2


def test_the_tuned_weights_are_read_per_surface():
    queries, articles = weights_for("queries"), weights_for("articles")
    assert 0.0 <= queries.cooccurrence <= 1.0 and 0.0 <= articles.cooccurrence <= 1.0
    assert weights_for("unknown") == BlendWeights()
