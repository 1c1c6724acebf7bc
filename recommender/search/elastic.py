"""The Elasticsearch backend (production), on the official `elasticsearch` client.

- An index template (`<prefix>-articles-template`) gives every versioned index
  `<prefix>-articles-v<timestamp>` the same settings and mapping: `tokens` is a text field with a
  whitespace tokenizer and the lowercase filter (both built in, no plugin), the filter fields are
  keywords, and `vector` is an indexed `dense_vector` with cosine similarity (HNSW).
- Searches and writes go through the alias `<prefix>-articles`. `rebuild` (`manage.py reindex`)
  fills a new version, refreshes it, moves the alias in one atomic `_aliases` call and then drops the
  old versions, so searches never see a partial index.
- Writes use the bulk helper with retries and back-off on 429 (`streaming_bulk`), and refresh with
  `wait_for`, so a search after `upsert` returns sees the change.
- Hybrid fusion is done in the app (`recommender.retrieval`): Elasticsearch's RRF needs a paid licence.

The request bodies are built by pure functions below, so tests can check what they mean without a
cluster; `tests/recommender/search/test_backend_contract.py` runs the same contract against a real
cluster whenever ELASTICSEARCH_URL is set.
"""
import itertools
import logging
import time
from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from elasticsearch import Elasticsearch, NotFoundError, helpers

from recommender.search.base import (
    BulkResult,
    Hit,
    IndexDocument,
    IndexInfo,
    SearchBackend,
    SearchFilters,
    SnapshotHits,
    clamp_k,
    query_terms,
    resolve_vector,
)

logger = logging.getLogger(__name__)

TOKENS_ANALYZER = "whitespace_lowercase"
MLT_MAX_TERMS = 25
REQUEST_TIMEOUT_SECONDS = 10
BULK_RETRIES = 5
# Candidates examined per shard for kNN: more raise recall and cost; 10× k is Elastic's usual advice.
KNN_CANDIDATE_FACTOR = 10


def index_settings() -> dict:
    return {
        "number_of_shards": 1,
        "analysis": {
            "analyzer": {TOKENS_ANALYZER: {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}}
        },
    }


def index_mappings(dims: int | None, model: str = "") -> dict:
    """The mapping. `dims` comes from the data (the embedding model decides it), never a constant;
    `_meta.vector_model` names the model, so readers know which model their query vector needs."""
    vector: dict = {"type": "dense_vector", "index": True, "similarity": "cosine",
                    "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100}}
    if dims:
        vector["dims"] = int(dims)
    return {
        "dynamic": "strict",
        "_meta": {"vector_model": model},
        "properties": {
            "id": {"type": "long"},
            "tokens": {"type": "text", "analyzer": TOKENS_ANALYZER, "search_analyzer": TOKENS_ANALYZER,
                       "similarity": "BM25", "index_options": "freqs", "norms": True},
            "title": {"type": "keyword", "index": False},
            "language": {"type": "keyword"},
            "category": {"type": "keyword"},
            "origin": {"type": "keyword"},
            "status": {"type": "keyword"},
            "owner": {"type": "long"},
            "published": {"type": "boolean"},
            "vector": vector,
        },
    }


def index_template(prefix: str, dims: int | None, model: str = "") -> dict:
    return {
        "index_patterns": [f"{prefix}-articles-v*"],
        "priority": 200,
        "template": {"settings": index_settings(), "mappings": index_mappings(dims, model)},
        "_meta": {"description": "content library articles (recommender.search.elastic)"},
    }


def filter_clauses(filters: SearchFilters) -> list[dict]:
    """Filter-context clauses (they decide membership and never change scores)."""
    clauses: list[dict] = []
    if filters.published_only:
        clauses.append({"term": {"published": True}})
    for field in ("language", "category", "origin"):
        value = getattr(filters, field)
        if value is not None:
            clauses.append({"term": {field: value}})
    if filters.owner_id is not None:
        clauses.append({"term": {"owner": int(filters.owner_id)}})
    return clauses


def lexical_body(terms: list[str], *, k: int, filters: SearchFilters) -> dict:
    """BM25 over `tokens` for any of the terms. Terms are sent as `term` queries, never parsed, so
    query syntax (" * : ( ) AND OR NOT) in the reader's text is only ever literal."""
    return {
        "size": k,
        "_source": False,
        "track_total_hits": False,
        "query": {
            "bool": {
                "should": [{"term": {"tokens": term}} for term in terms],
                "minimum_should_match": 1,
                "filter": filter_clauses(filters),
            }
        },
    }


def knn_body(vector: list[float], *, k: int, filters: SearchFilters) -> dict:
    """Approximate kNN with the filters applied during the graph search (not after it), so k hits
    come back whenever k documents pass the filters."""
    return {
        "size": k,
        "_source": False,
        "knn": {
            "field": "vector",
            "query_vector": vector,
            "k": k,
            "num_candidates": min(10_000, max(100, k * KNN_CANDIDATE_FACTOR)),
            "filter": filter_clauses(filters),
        },
    }


def more_like_this_body(index: str, doc_id: int, *, k: int, filters: SearchFilters) -> dict:
    return {
        "size": k,
        "_source": False,
        "query": {
            "bool": {
                "must": [{
                    "more_like_this": {
                        "fields": ["tokens"],
                        "like": [{"_index": index, "_id": str(doc_id)}],
                        "min_term_freq": 1,
                        "min_doc_freq": 1,
                        "max_query_terms": MLT_MAX_TERMS,
                        "include": False,
                    }
                }],
                "filter": filter_clauses(filters),
            }
        },
    }


def _hits(response: dict) -> list[Hit]:
    return [Hit(int(h["_id"]), float(h["_score"])) for h in response["hits"]["hits"]]


def _model_of(docs) -> str:
    return next((d.vector_model for d in docs if d.vector is not None and d.vector_model), "")


def document_source(doc: IndexDocument) -> dict:
    source = {
        "id": int(doc.id), "tokens": doc.tokens or "", "title": doc.title or "", "language": doc.language or "",
        "category": doc.category or "", "origin": doc.origin or "", "status": doc.status or "",
        "owner": -1 if doc.owner_id is None else int(doc.owner_id), "published": bool(doc.published),
    }
    if doc.vector is not None:
        source["vector"] = doc.vector_list()
    return source


def _document_from_source(source: dict) -> IndexDocument:
    vector = source.get("vector")
    return IndexDocument(
        id=int(source["id"]), tokens=source.get("tokens", ""), title=source.get("title", ""),
        language=source.get("language", ""), category=source.get("category", ""), origin=source.get("origin", ""),
        status=source.get("status", ""), published=bool(source.get("published")),
        owner_id=None if source.get("owner", -1) == -1 else int(source["owner"]),
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
    )


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, client: Elasticsearch, prefix: str):
        self.client = client
        self.prefix = prefix
        self.alias = f"{prefix}-articles"
        self.template_name = f"{prefix}-articles-template"

    @classmethod
    def from_settings(cls) -> "ElasticsearchBackend":
        client = Elasticsearch(settings.ELASTICSEARCH_URL, request_timeout=REQUEST_TIMEOUT_SECONDS,
                               retry_on_timeout=True, max_retries=3)
        return cls(client, settings.ELASTICSEARCH_INDEX_PREFIX)

    def close(self) -> None:
        self.client.close()

    # --- index versions

    def _versions(self) -> list[str]:
        return sorted(self.client.indices.get(index=f"{self.alias}-v*", allow_no_indices=True, expand_wildcards="open"))

    def _aliased(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    def _new_version(self, dims: int | None, model: str = "") -> str:
        self.client.indices.put_index_template(name=self.template_name, **index_template(self.prefix, dims, model))
        name = f"{self.alias}-v{time.strftime('%Y%m%d%H%M%S')}{int(time.time() * 1000) % 1000:03d}"
        self.client.indices.create(index=name)
        return name

    def _ensure_alias(self, dims: int | None, model: str = "") -> None:
        if not self._aliased():
            name = self._new_version(dims, model)
            self.client.indices.update_aliases(actions=[{"add": {"index": name, "alias": self.alias}}])

    # --- writing

    def _bulk(self, actions: Iterable[dict], *, index: str, refresh) -> BulkResult:
        result = BulkResult()
        for ok, item in helpers.streaming_bulk(
            self.client, actions, index=index, chunk_size=500, max_retries=BULK_RETRIES, initial_backoff=1,
            max_backoff=30, raise_on_error=False, raise_on_exception=True, refresh=refresh,
        ):
            operation, detail = next(iter(item.items()))
            if ok:
                if operation == "delete":
                    result.deleted += 1
                else:
                    result.indexed += 1
            elif operation == "delete" and detail.get("status") == 404:
                result.deleted += 1
            else:
                result.errors.append(f"{operation} #{detail.get('_id')}: {detail.get('error')}")
        return result

    def upsert(self, docs: Sequence[IndexDocument]) -> BulkResult:
        docs = list({d.id: d for d in docs}.values())
        if not docs:
            return BulkResult()
        self._ensure_alias(next((len(d.vector) for d in docs if d.vector is not None), None), _model_of(docs))
        actions = ({"_op_type": "index", "_id": str(d.id), "_source": document_source(d)} for d in docs)
        return self._bulk(actions, index=self.alias, refresh="wait_for")

    def delete(self, ids: Sequence[int]) -> BulkResult:
        ids = sorted({int(i) for i in ids})
        if not ids or not self._aliased():
            return BulkResult()
        actions = ({"_op_type": "delete", "_id": str(i)} for i in ids)
        return self._bulk(actions, index=self.alias, refresh="wait_for")

    def rebuild(self, batches) -> BulkResult:
        """Fills a new index version, then swaps the alias atomically and deletes the old versions."""
        batches = iter(batches)
        first = next(batches, [])
        dims = next((len(d.vector) for d in first if d.vector is not None), None)
        name = self._new_version(dims, _model_of(first))
        # No refreshes while bulk loading; one at the end.
        self.client.indices.put_settings(index=name, settings={"index": {"refresh_interval": "-1"}})

        def actions():
            for batch in itertools.chain([first], batches):
                yield from ({"_op_type": "index", "_id": str(d.id), "_source": document_source(d)} for d in batch)

        result = self._bulk(actions(), index=name, refresh=False)
        self.client.indices.put_settings(index=name, settings={"index": {"refresh_interval": None}})
        self.client.indices.refresh(index=name)
        old = self._aliased()
        self.client.indices.update_aliases(
            actions=[{"remove": {"index": o, "alias": self.alias}} for o in old] + [{"add": {"index": name, "alias": self.alias}}]
        )
        for version in self._versions():
            if version != name:
                self.client.indices.delete(index=version, ignore_unavailable=True)
        return result

    def clear(self) -> None:
        for version in self._versions():
            self.client.indices.delete(index=version, ignore_unavailable=True)

    # --- reading

    def _search(self, body: dict) -> list[Hit]:
        if not self._aliased():
            return []
        response = self.client.search(index=self.alias, **body)
        return _hits(response)

    def info(self) -> IndexInfo:
        current = self._aliased()
        if not current:
            return IndexInfo(generation="", documents=0, vector_dim=None, vector_model="")
        mapping = self.client.indices.get_mapping(index=current[0])[current[0]]["mappings"]
        dims = mapping.get("properties", {}).get("vector", {}).get("dims")
        return IndexInfo(generation=current[0], documents=int(self.client.count(index=current[0])["count"]),
                         vector_dim=int(dims) if dims else None,
                         vector_model=mapping.get("_meta", {}).get("vector_model", ""))

    def search(self, tokens, vector, *, k=10, filters=SearchFilters(), term_stats=True) -> SnapshotHits:
        """Both rankings through one point in time of the index version the alias names, so they read
        the same segments; term statistics come from that version (termvectors has no point in time)."""
        terms, k = query_terms(tokens), clamp_k(k)
        vector = resolve_vector(vector)  # both sides go in one request
        current = self._aliased()
        if not current:
            return SnapshotHits(generation="", doc_freqs={t: 0 for t in terms} if term_stats else {})
        found = SnapshotHits(generation=current[0])
        bodies = {}
        if terms and k:
            bodies["lexical"] = lexical_body(terms, k=k, filters=filters)
        if vector is not None and k and np.all(np.isfinite(vector)) and np.any(vector):
            bodies["vector"] = knn_body([float(x) for x in vector], k=k, filters=filters)
        if bodies:
            pit = self.client.open_point_in_time(index=current[0], keep_alive="30s")["id"]
            try:
                searches = []
                for body in bodies.values():
                    searches += [{}, {**body, "pit": {"id": pit, "keep_alive": "30s"}}]
                responses = self.client.msearch(searches=searches)["responses"]
            finally:
                self.client.close_point_in_time(id=pit)
            for side, response in zip(bodies, responses, strict=True):
                if "error" in response:
                    # A vector of another dimension than the index's (a model change in progress).
                    logger.warning("elasticsearch %s search failed: %s", side, response["error"])
                    continue
                hits = _hits(response)
                # Elasticsearch reports cosine as (1 + cos) / 2; callers get the raw cosine, as from the embedded engine.
                setattr(found, side, hits if side == "lexical" else [Hit(h.id, 2.0 * h.score - 1.0) for h in hits])
        if term_stats:
            found.documents, found.doc_freqs = self._term_stats(current[0], terms)
        return found

    def fetch(self, ids: Sequence[int]) -> dict[int, IndexDocument]:
        ids = sorted({int(i) for i in ids})
        if not ids or not self._aliased():
            return {}
        response = self.client.mget(index=self.alias, ids=[str(i) for i in ids])
        return {int(d["_id"]): _document_from_source(d["_source"]) for d in response["docs"] if d.get("found")}

    def more_like_this(self, doc_id: int, *, k=10, filters=SearchFilters()) -> list[Hit]:
        k = clamp_k(k)
        current = self._aliased()
        if k == 0 or not current:
            return []
        return self._search(more_like_this_body(current[0], doc_id, k=k, filters=filters))

    def _term_stats(self, index: str, terms: list[str]) -> tuple[int, dict[str, int]]:
        if not terms:
            return 0, {}
        # Term statistics of an artificial document: the index's document frequency for each term.
        response = self.client.termvectors(index=index, doc={"tokens": " ".join(terms)}, fields=["tokens"],
                                           term_statistics=True, field_statistics=True, positions=False,
                                           offsets=False)
        vectors = response.get("term_vectors", {}).get("tokens", {})
        doc_count = int(vectors.get("field_statistics", {}).get("doc_count", 0))
        stats = {t: int(vectors.get("terms", {}).get(t, {}).get("doc_freq", 0)) for t in terms}
        return doc_count, stats

    def ids(self) -> set[int]:
        if not self._aliased():
            return set()
        return {int(h["_id"]) for h in helpers.scan(self.client, index=self.alias, query={"_source": False})}
