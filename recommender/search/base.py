"""The search backend interface that every engine implements, and the values that cross it.

A backend stores `IndexDocument`s keyed by article id and answers lexical (BM25 over the stored
tokens), vector (cosine over normalized embeddings) and more-like-this queries under `SearchFilters`.
It knows nothing of Django rows: `recommender.search.documents` turns articles into documents, and
`recommender.retrieval` fuses the two rankings and checks the database before anything is shown.
"""
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

# A query longer than this many distinct tokens is cut: the extra terms barely move BM25 and would
# only slow the engine (a 10,000-character paste is still answered).
MAX_QUERY_TERMS = 64
MAX_K = 1000


@dataclass
class IndexDocument:
    """What the index holds for one article. `published` is approved and not a duplicate."""

    id: int
    tokens: str
    title: str = ""
    language: str = ""
    category: str = ""  # category slug, "" when uncategorized
    owner_id: int | None = None
    origin: str = ""
    status: str = ""
    published: bool = False
    vector: np.ndarray | None = None
    vector_model: str = ""  # the embedding model that made `vector` (the index records it for readers)

    def vector_list(self) -> list[float] | None:
        return None if self.vector is None else [float(x) for x in self.vector]


@dataclass(frozen=True)
class SearchFilters:
    """Which documents a query may return. By default only published ones, in any language."""

    published_only: bool = True
    language: str | None = None
    category: str | None = None
    owner_id: int | None = None
    origin: str | None = None

    def matches(self, doc: IndexDocument) -> bool:
        """The filter's meaning, written once: both engines and the tests are held to it."""
        return (
            (not self.published_only or doc.published)
            and (self.language is None or doc.language == self.language)
            and (self.category is None or doc.category == self.category)
            and (self.owner_id is None or doc.owner_id == self.owner_id)
            and (self.origin is None or doc.origin == self.origin)
        )


@dataclass(frozen=True)
class Hit:
    id: int
    score: float  # the engine's raw score: BM25 for lexical, cosine similarity for vector


@dataclass
class BulkResult:
    indexed: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)
    generation: str = ""  # the snapshot the write made visible ("" when it wrote nothing)


@dataclass(frozen=True)
class IndexInfo:
    """What a reader needs to know of the index it is about to query."""

    generation: str  # names one committed snapshot; changes with every commit
    documents: int
    vector_dim: int | None  # None while no document has a vector
    vector_model: str  # the embedding model the vectors came from ("" when unknown)


@dataclass
class SnapshotHits:
    """Both rankings of one query, and the term statistics, all read from one snapshot."""

    generation: str
    lexical: list[Hit] = field(default_factory=list)
    vector: list[Hit] = field(default_factory=list)
    documents: int = 0  # documents in the snapshot (BM25's N)
    doc_freqs: dict[str, int] = field(default_factory=dict)  # {query term: documents holding it}
    vector_dim: int | None = None


def query_terms(tokens: Iterable[str]) -> list[str]:
    """The distinct query tokens in first-seen order, at most MAX_QUERY_TERMS of them."""
    seen: dict[str, None] = {}
    for token in tokens:
        token = token.strip().lower()
        if token and token not in seen:
            seen[token] = None
            if len(seen) >= MAX_QUERY_TERMS:
                break
    return list(seen)


def resolve_vector(vector: "np.ndarray | Future | None") -> np.ndarray | None:
    """A query vector, or the Future of one still being encoded (waited for here)."""
    return vector.result() if isinstance(vector, Future) else vector


def clamp_k(k: int) -> int:
    return max(0, min(int(k), MAX_K))


class SearchBackend(ABC):
    """One search engine. Every method is safe to call with empty or odd input: it returns nothing
    rather than raising, because queries come straight from readers."""

    name: str = ""

    @abstractmethod
    def search(self, tokens: Sequence[str], vector: "np.ndarray | Future | None", *, k: int = 10,
               filters: SearchFilters = SearchFilters(), term_stats: bool = True) -> SnapshotHits:
        """Lexical hits for `tokens` and vector hits for `vector` (either may be empty), with the
        document frequencies of the query terms when `term_stats`, all from one committed snapshot,
        whose generation comes back with them. A vector of the wrong dimension finds nothing.
        `vector` may be a Future (the query still being encoded): a backend that can runs the
        lexical side meanwhile, then waits for it (`resolve_vector`)."""

    @abstractmethod
    def info(self) -> IndexInfo:
        """The current snapshot's generation, size, and the dimension and model of its vectors."""

    def lexical(self, tokens: Sequence[str], *, k: int = 10, filters: SearchFilters = SearchFilters()) -> list[Hit]:
        """BM25 over the tokens field for any of the given (already segmented) query tokens."""
        return self.search(tokens, None, k=k, filters=filters, term_stats=False).lexical

    def vector(self, query: np.ndarray, *, k: int = 10, filters: SearchFilters = SearchFilters()) -> list[Hit]:
        """Documents closest to the normalized query vector by cosine similarity."""
        return self.search((), query, k=k, filters=filters, term_stats=False).vector

    def term_stats(self, tokens: Sequence[str]) -> tuple[int, dict[str, int]]:
        """(number of documents, {token: document frequency}): what BM25's idf is made of."""
        found = self.search(tokens, None, k=0, term_stats=True)
        return found.documents, found.doc_freqs

    @abstractmethod
    def upsert(self, docs: Sequence[IndexDocument]) -> BulkResult:
        """Adds or replaces documents by id; readers see them once this returns."""

    @abstractmethod
    def delete(self, ids: Sequence[int]) -> BulkResult:
        """Removes documents by id; absent ids are fine."""

    @abstractmethod
    def fetch(self, ids: Sequence[int]) -> dict[int, IndexDocument]:
        """The stored documents for those ids that are in the index."""

    @abstractmethod
    def more_like_this(self, doc_id: int, *, k: int = 10, filters: SearchFilters = SearchFilters()) -> list[Hit]:
        """Documents sharing the most distinctive tokens of document `doc_id`, without it."""

    @abstractmethod
    def ids(self) -> set[int]:
        """Every id in the index (the sweep compares it with the database)."""

    @abstractmethod
    def rebuild(self, batches: Iterable[Sequence[IndexDocument]]) -> BulkResult:
        """Replaces the whole index by the documents of `batches`, with no moment when searches see
        a partial index; documents not in `batches` are gone afterwards."""

    @abstractmethod
    def clear(self) -> None:
        """Removes every document (tests and full rebuilds)."""

    def close(self) -> None:
        """Releases files and connections."""
