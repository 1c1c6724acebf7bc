"""Search backends (Elasticsearch in production, the embedded engine by default) and index sync.

`search_backend()` returns the process's backend for settings.SEARCH_BACKEND. Callers that show
results to readers go through `recommender.retrieval`, which fuses rankings and checks each hit
against the database.
"""
import threading

from django.conf import settings

from recommender.search.base import BulkResult, Hit, IndexDocument, SearchBackend, SearchFilters

__all__ = ["BulkResult", "Hit", "IndexDocument", "SearchBackend", "SearchFilters", "search_backend",
           "search_backend_reset"]

_backend: SearchBackend | None = None
_backend_key: tuple | None = None
_lock = threading.Lock()


def _key() -> tuple:
    return (settings.SEARCH_BACKEND, str(settings.SEARCH_INDEX_DIR), settings.ELASTICSEARCH_URL,
            settings.ELASTICSEARCH_INDEX_PREFIX, settings.SEARCH_MEMORY_MIN_ROWS)


def search_backend() -> SearchBackend:
    """The configured backend, built once per process (and again if the settings change, as in tests)."""
    global _backend, _backend_key
    key = _key()
    if _backend is not None and _backend_key == key:
        return _backend
    with _lock:
        if _backend is None or _backend_key != key:
            if settings.SEARCH_BACKEND == "elasticsearch":
                from recommender.search.elastic import ElasticsearchBackend  # noqa: PLC0415 - only when chosen

                backend = ElasticsearchBackend.from_settings()
            else:
                from recommender.search.embedded import EmbeddedBackend  # noqa: PLC0415 - only when chosen

                backend = EmbeddedBackend(settings.SEARCH_INDEX_DIR, memory_min_rows=settings.SEARCH_MEMORY_MIN_ROWS)
            if _backend is not None:
                _backend.close()
            _backend, _backend_key = backend, key
    return _backend


def search_backend_reset() -> None:
    """Forgets the process's backend (tests that point SEARCH_INDEX_DIR elsewhere)."""
    global _backend, _backend_key
    with _lock:
        if _backend is not None:
            _backend.close()
        _backend, _backend_key = None, None
