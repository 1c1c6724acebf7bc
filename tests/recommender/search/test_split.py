"""The dev/test split of the judged queries: fixed once made, extended without moving anything."""
from contentlib import corpus
from recommender.search.split import split_extend, split_from_queries, split_load


def test_committed_split_covers_every_judged_query_once():
    split = split_load()
    ids = [q.id for q in corpus.queries()]
    assert sorted(split["dev"] + split["test"]) == sorted(ids)
    assert not set(split["dev"]) & set(split["test"])


def test_extending_keeps_split_queries_in_place_and_deals_new_ones_by_stratum():
    queries = corpus.queries()
    old, new = queries[::2], queries[1::2]
    first = split_from_queries(old)

    extended = split_extend(first, queries)

    assert set(first["dev"]) <= set(extended["dev"]) and set(first["test"]) <= set(extended["test"])
    added_dev = [q for q in new if q.id in set(extended["dev"])]
    added_test = [q for q in new if q.id in set(extended["test"])]
    assert len(added_dev) + len(added_test) == len(new)
    for lang in ("zh", "en"):
        dev, test = (sum(q.lang == lang for q in half) for half in (added_dev, added_test))
        assert abs(dev - test) <= 2
    assert split_extend(extended, queries) == extended
