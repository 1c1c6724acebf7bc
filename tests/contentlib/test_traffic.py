"""The traffic generator (contentlib/traffic.py): reproducible reader sessions with the structure its
parameters describe, which the recommendation measurements rely on."""
import collections
import datetime as dt

from contentlib import corpus, traffic
from contentlib.text import normalize_query

UNTIL = dt.date(2026, 11, 30)


def _small(**overrides):
    params = traffic.params_load()
    params.pop("ads", None)  # the readers' sessions only; the ads section is tested with the reports
    params["readers"] = {**params["readers"], "count": 300, **overrides}
    return params


def test_same_seed_same_sessions_and_another_seed_others():
    first = list(traffic.generate(_small(), until=UNTIL))
    again = list(traffic.generate(_small(), until=UNTIL))
    other = list(traffic.generate({**_small(), "seed": 7}, until=UNTIL))
    assert first == again
    assert first != other


def test_events_name_corpus_articles_and_normalized_queries_within_the_days():
    events = list(traffic.generate(_small(), until=UNTIL))
    known = {a.id for a in corpus.articles()}
    assert {e.kind for e in events} == {"search", "question_view", "article_view"}
    for event in events:
        if event.kind == "article_view":
            assert event.article in known
        else:
            assert event.query and event.query == normalize_query(event.query)
        assert UNTIL - dt.timedelta(days=13) <= event.at.date() <= UNTIL


def test_a_session_keeps_to_its_readers_interests_except_for_the_noise():
    """Without noise every event of a session comes from the reader's own interests (at most two);
    with the configured noise about that share comes from the whole corpus."""
    quiet = traffic.sessions_group(traffic.generate(_small(noise=0.0), until=UNTIL))
    assert all(len({e.interest for e in s}) == 1 and None not in {e.interest for e in s} for s in quiet)
    noisy = list(traffic.generate(_small(noise=0.3), until=UNTIL))
    share = sum(e.interest is None for e in noisy) / len(noisy)
    assert 0.2 < share < 0.4


def test_popularity_bias_makes_a_few_articles_read_far_more_than_the_median():
    reads = collections.Counter(e.article for e in traffic.generate(_small(), until=UNTIL) if e.article)
    counts = sorted(reads.values(), reverse=True)
    assert counts[0] > 5 * counts[len(counts) // 2]
    flat = collections.Counter(e.article for e in traffic.generate(_small(popularity_zipf=0.0), until=UNTIL) if e.article)
    flat_counts = sorted(flat.values(), reverse=True)
    assert flat_counts[0] / flat_counts[len(flat_counts) // 2] < counts[0] / counts[len(counts) // 2]


def test_an_unknown_section_is_refused_by_name():
    import pytest
    with pytest.raises(ValueError, match="No traffic generator is called 'nonesuch'"):
        list(traffic.generate(_small(), sections=["nonesuch"]))
