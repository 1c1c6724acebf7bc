import os
import uuid

import numpy as np
import pytest

from recommender.search.base import IndexDocument


def unit(*values) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _embedded(tmp_path, **settings):
    from recommender.search import embedded

    patch = pytest.MonkeyPatch()
    for name, value in settings.items():
        patch.setattr(embedded, name, value)
    backend = embedded.EmbeddedBackend(tmp_path / "index")
    backend.undo_patch = patch.undo
    return backend


def _embedded_unindexed(tmp_path):
    """The embedded engine as a small library has it (exact vector scans, no vector index), with the
    rows of later commits left out of the full-text index: searches must still find them (Lance scans
    unindexed rows exactly, and the reader must not skip them with fast_search)."""
    return _embedded(tmp_path, UNINDEXED_MAX_ROWS=1_000_000)


def _embedded_partly_indexed(tmp_path):
    """A vector index from the first vector, and the rows of later commits left out of both indexes:
    the reader searches the index with fast_search and must score the rows it skips itself."""
    return _embedded(tmp_path, VECTOR_INDEX_MIN_ROWS=1, UNINDEXED_MAX_ROWS=1_000_000)


def _embedded_indexed(tmp_path):
    """The embedded engine with its vector index built from the first vector and every new row folded
    into both indexes at once, so the contract also holds for the indexed paths and fast_search (a
    real library gets a vector index from 5,000 vectors, and folds new rows from 100 on)."""
    return _embedded(tmp_path, VECTOR_INDEX_MIN_ROWS=1, UNINDEXED_MAX_ROWS=0)


def _embedded_memory(tmp_path):
    """The embedded engine answering from its in-memory copy (tantivy and hnswlib, memory.py), as a
    large library does: the copy is built and caught up inside each query, so every query uses it."""
    return _embedded(tmp_path, MEMORY_INDEX_MIN_ROWS=0, MEMORY_INDEX_SYNC=True)


def _elasticsearch(tmp_path):
    url = os.environ.get("ELASTICSEARCH_URL")
    if not url:
        pytest.skip("Elasticsearch contract tests need a cluster: set ELASTICSEARCH_URL=http://127.0.0.1:9200 "
                    "(see README, 'Search')")
    from elasticsearch import Elasticsearch

    from recommender.search.elastic import ElasticsearchBackend

    # A unique prefix per test: parallel runs and leftovers never collide.
    backend = ElasticsearchBackend(Elasticsearch(url, request_timeout=30), f"contract-{uuid.uuid4().hex[:10]}")
    return backend


@pytest.fixture(params=["embedded", "embedded_partly_indexed", "embedded_indexed", "embedded_memory", "elasticsearch"])
def backend(request, tmp_path):
    """Every backend in turn: the same contract must hold for each."""
    engine = {"embedded": _embedded_unindexed, "embedded_partly_indexed": _embedded_partly_indexed,
              "embedded_indexed": _embedded_indexed, "embedded_memory": _embedded_memory,
              "elasticsearch": _elasticsearch}[request.param](tmp_path)
    if request.param.startswith("embedded"):
        request.addfinalizer(engine.undo_patch)
    yield engine
    if request.param == "elasticsearch":
        engine.clear()
        engine.client.indices.delete_index_template(name=engine.template_name, ignore_unavailable=True)
    engine.close()


@pytest.fixture
def library_docs() -> list[IndexDocument]:
    """A small library: published and unpublished, two languages, categories, owners and origins."""
    return [
        IndexDocument(1, "智能 仓储 agv 小车 夜间 补货 仓储", "仓储", "zh", "logistics", None, "crawled", "approved", True,
                      unit(1, 0, 0, 0)),
        IndexDocument(2, "仓储 保理 融资 应收 账款", "保理", "zh", "finance", 7, "submitted", "approved", True,
                      unit(0, 1, 0, 0)),
        IndexDocument(3, "warehouse robots agv payback", "robots", "en", "logistics", 7, "crawled", "approved", True,
                      unit(0.8, 0.6, 0, 0)),
        IndexDocument(4, "仓储 agv 草稿", "draft", "zh", "logistics", None, "crawled", "pending", False,
                      unit(0.95, 0.05, 0, 0)),
        IndexDocument(5, "green bond allocation report", "bonds", "en", "finance", None, "open_data", "approved", True,
                      unit(0, 0, 1, 0)),
        IndexDocument(6, "cold chain antibody air freight", "cold", "en", "logistics", None, "crawled", "approved", True,
                      None),
    ]
