"""What the Elasticsearch mapping and request bodies mean, checked without a cluster.

A small interpreter evaluates the bodies' query clauses against documents as Elasticsearch would
(term on keyword/boolean/long, bool with filter/should/must) and applies the mapping's analyzer, so
these tests fail when a body would filter, match or analyze differently from the embedded engine."""
import fnmatch
import itertools

import numpy as np
import pytest

from recommender.search import elastic
from recommender.search.base import IndexDocument, SearchFilters
from recommender.search.embedded import EmbeddedBackend

from .conftest import unit

MAPPING = elastic.index_mappings(4)
PROPS = MAPPING["properties"]
SETTINGS = elastic.index_settings()


def analyze(field: str, text: str) -> list[str]:
    """The tokens Elasticsearch would index for `text` in `field`, from the mapping and settings."""
    spec = PROPS[field]
    assert spec["type"] == "text"
    analyzer = SETTINGS["analysis"]["analyzer"][spec["analyzer"]]
    assert analyzer["tokenizer"] == "whitespace", "only the built-in whitespace tokenizer is modelled"
    tokens = text.split()
    for name in analyzer.get("filter", []):
        assert name == "lowercase", f"unmodelled filter {name}"
        tokens = [t.lower() for t in tokens]
    return tokens


def matches(clause: dict, source: dict) -> bool:
    (kind, body), = clause.items()
    if kind == "term":
        (field, value), = body.items()
        assert field in PROPS, f"term on unmapped field {field}"
        field_type = PROPS[field]["type"]
        if field_type == "text":
            return value in analyze(field, source[field])
        assert field_type in ("keyword", "boolean", "long"), f"term on {field_type} field {field}"
        return source[field] == value
    if kind == "bool":
        must = all(matches(c, source) for c in body.get("must", []) + body.get("filter", []))
        should = body.get("should", [])
        needed = body.get("minimum_should_match", 1 if should and not (body.get("must") or body.get("filter")) else 0)
        return must and sum(matches(c, source) for c in should) >= needed
    raise AssertionError(f"unmodelled clause {kind}")


DOCS = [
    IndexDocument(1, "智能 仓储 AGV", "a", "zh", "logistics", None, "crawled", "approved", True, unit(1, 0, 0, 0)),
    IndexDocument(2, "保理 融资", "b", "zh", "finance", 7, "submitted", "approved", True, unit(0, 1, 0, 0)),
    IndexDocument(3, "warehouse agv", "c", "en", "logistics", 7, "crawled", "pending", False, unit(0, 0, 1, 0)),
    IndexDocument(4, "green bond", "d", "en", "", None, "open_data", "rejected", False, None),
]
FILTERS = [
    SearchFilters(published_only=p, language=lang, category=c, owner_id=o, origin=origin)
    for p, lang, c, o, origin in itertools.product(
        (True, False), (None, "zh", "en"), (None, "logistics"), (None, 7), (None, "crawled")
    )
]


def test_the_tokens_field_is_analyzed_like_the_embedded_engine(tmp_path):
    """Each token Elasticsearch would index is one the embedded engine finds the document by, and
    counts once in its term statistics."""
    texts = ["智能 仓储 AGV", "C++ b2b ISO-13485", "  two   spaces ", "MiXeD 中文 English"]
    engine = EmbeddedBackend(tmp_path / "idx")
    engine.upsert([IndexDocument(i, text, published=True) for i, text in enumerate(texts, start=1)])
    for doc_id, text in enumerate(texts, start=1):
        for token in analyze("tokens", text):
            assert [h.id for h in engine.lexical([token])] == [doc_id], token
            assert engine.term_stats([token])[1] == {token: 1}
    assert engine.lexical(["iso"]) == [] and engine.lexical(["c"]) == []  # whitespace splits, nothing else
    # Queries use the same analyzer; BM25 with term frequencies (no positions needed).
    assert PROPS["tokens"]["search_analyzer"] == PROPS["tokens"]["analyzer"]
    assert PROPS["tokens"]["similarity"] == "BM25"


def test_every_document_field_is_mapped_and_unknown_fields_are_refused():
    assert MAPPING["dynamic"] == "strict"
    for doc in DOCS:
        assert set(elastic.document_source(doc)) <= set(PROPS)
    # Filter fields are exact-match types, not analyzed text.
    assert {PROPS[f]["type"] for f in ("language", "category", "origin", "status")} == {"keyword"}
    assert PROPS["owner"]["type"] == "long" and PROPS["published"]["type"] == "boolean"


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_filter_clauses_select_what_search_filters_mean(filters):
    clause = {"bool": {"filter": elastic.filter_clauses(filters)}}
    selected = {d.id for d in DOCS if matches(clause, elastic.document_source(d))}

    assert selected == {d.id for d in DOCS if filters.matches(d)}


def test_lexical_body_matches_any_term_under_the_filters_without_scoring_them():
    filters = SearchFilters(language="zh")
    body = elastic.lexical_body(["agv", "融资"], k=7, filters=filters)
    query = body["query"]

    assert body["size"] == 7
    assert {d.id for d in DOCS if matches(query, elastic.document_source(d))} == {1, 2}
    # Filters sit in filter context, which never contributes to the BM25 score.
    assert query["bool"]["filter"] == elastic.filter_clauses(filters)
    assert "must" not in query["bool"]


def test_query_syntax_in_terms_is_literal():
    body = elastic.lexical_body(['"', "and", "title:x", "*"], k=5, filters=SearchFilters())
    # Only term queries: no query_string/simple_query_string that would parse operators.
    assert all(set(c) == {"term"} for c in body["query"]["bool"]["should"])
    assert [c["term"]["tokens"] for c in body["query"]["bool"]["should"]] == ['"', "and", "title:x", "*"]


def test_vector_field_and_knn_body_agree_with_the_data():
    vector = PROPS["vector"]
    assert vector["type"] == "dense_vector" and vector["index"] is True
    assert vector["dims"] == 4  # from the data, not a constant
    assert "dims" not in elastic.index_mappings(None)["properties"]["vector"]  # inferred from the first document
    # Vectors are L2-normalized, so cosine ranks as the embedded engine's dot product does.
    assert vector["similarity"] == "cosine"
    assert vector["index_options"]["type"] == "hnsw"

    filters = SearchFilters(language="en", owner_id=7)
    body = elastic.knn_body(list(unit(1, 0, 0, 0)), k=5, filters=filters)["knn"]
    assert body["field"] == "vector" and body["k"] == 5 and body["num_candidates"] >= 10 * body["k"]
    # Filtered during the graph search, with exactly the lexical filters.
    assert body["filter"] == elastic.filter_clauses(filters)
    assert len(body["query_vector"]) == vector["dims"]


def test_documents_without_vectors_omit_the_field():
    assert "vector" not in elastic.document_source(DOCS[3])
    source = elastic.document_source(DOCS[0])
    assert np.allclose(source["vector"], DOCS[0].vector)


def test_more_like_this_reads_only_the_tokens_field_and_excludes_the_source_document():
    filters = SearchFilters()
    body = elastic.more_like_this_body("lib-articles-v1", 42, k=3, filters=filters)["query"]["bool"]
    mlt = body["must"][0]["more_like_this"]

    assert mlt["fields"] == ["tokens"]
    assert mlt["like"] == [{"_index": "lib-articles-v1", "_id": "42"}]
    assert mlt["include"] is False
    assert body["filter"] == elastic.filter_clauses(filters)


class RecordingClient:
    """Stands in for the Elasticsearch client: records requests, answers msearch with fixed hits."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(**kwargs):
            self.calls.append((name, kwargs))
            if name == "open_point_in_time":
                return {"id": "pit-1"}
            if name == "msearch":
                return {"responses": [{"hits": {"hits": [{"_id": "3", "_score": 0.9}]}}
                                      for _ in kwargs["searches"][1::2]]}
            if name == "termvectors":
                return {"term_vectors": {"tokens": {"field_statistics": {"doc_count": 5}, "terms": {"agv": {"doc_freq": 2}}}}}
            return {}
        return call


def test_a_hybrid_search_reads_both_rankings_through_one_point_in_time(monkeypatch):
    backend = elastic.ElasticsearchBackend(client=RecordingClient(), prefix="lib")
    monkeypatch.setattr(backend, "_aliased", lambda: ["lib-articles-v1"])

    found = backend.search(["agv"], unit(1, 0, 0, 0), k=5)

    names = [name for name, _ in backend.client.calls]
    assert names == ["open_point_in_time", "msearch", "close_point_in_time", "termvectors"]
    searches = dict(backend.client.calls)["msearch"]["searches"]
    assert [s.get("pit", {}).get("id") for s in searches[1::2]] == ["pit-1", "pit-1"]
    assert all(header == {} for header in searches[0::2])  # the point in time names the index
    assert "query" in searches[1] and "knn" in searches[3]
    assert dict(backend.client.calls)["close_point_in_time"] == {"id": "pit-1"}
    assert found.generation == "lib-articles-v1"
    assert [h.id for h in found.lexical] == [3] and found.lexical[0].score == pytest.approx(0.9)
    assert found.vector[0].score == pytest.approx(0.8)  # (1 + cos) / 2 back to cos
    assert (found.documents, found.doc_freqs) == (5, {"agv": 2})


def test_template_applies_to_every_versioned_index_behind_the_alias():
    template = elastic.index_template("lib", 4)
    backend = elastic.ElasticsearchBackend(client=None, prefix="lib")

    assert any(fnmatch.fnmatch("lib-articles-v20260101000000123", p) for p in template["index_patterns"])
    # The alias itself must not match, or creating it as an index would take the template.
    assert not any(fnmatch.fnmatch(backend.alias, p) for p in template["index_patterns"])
    assert template["template"]["mappings"] == elastic.index_mappings(4)
    assert template["template"]["settings"]["analysis"] == SETTINGS["analysis"]
