"""Per-language centering of embedding vectors: each language's mean vector subtracted, re-normalized.

multilingual-e5 puts a text's language into its vector, so a Chinese question's nearest articles
are Chinese ones even when an English article answers it. Subtracting each language's mean vector
(Libovický et al., "On the language neutrality of pre-trained multilingual representations", 2020)
removes that component; on the judged dev half it lifts hybrid nDCG@5 (docs/BENCHMARKS.md,
"Relevance"). The search index holds the centered vectors, and queries are centered the same way.

The raw cosine stays what "nothing fits" and the answers' choice of references read
(`recommender.retrieval`): `Article.embedding`, `Question.vector` and `Answer.vector` stay raw.

The means belong to one embedding model. `manage.py search_tune` computes them from the fixture
corpus's passage vectors and writes them to CENTERING_FILE with the model's name. A document is
centered only when its vectors come from that model, and the index then records the vector space
as `<model>#centered-<key>` (the key a hash of the means), so that a reader centers its query only
when the index's vectors were centered by the very means it holds: after a model change, or before
a rebuild, the index says it holds raw vectors (or other means) and queries stay raw to match.
"""
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CENTERING_FILE = Path(__file__).parent / "vector_centering.json"
SPACE_MARK = "#centered-"
POOLED = ""  # the mean over every language: for a text whose language has no mean of its own
MIN_VECTORS = 5  # a language's mean needs at least this many vectors, or the pooled mean stands for it


@dataclass(frozen=True)
class Centering:
    """One embedding model's per-language mean vectors."""

    model: str
    means: dict[str, np.ndarray]

    @property
    def key(self) -> str:
        digest = hashlib.sha1(self.model.encode("utf-8"))
        for language in sorted(self.means):
            digest.update(language.encode("utf-8") + b"\x1f")
            digest.update(np.asarray(self.means[language], dtype="<f4").tobytes())
        return digest.hexdigest()[:10]

    @property
    def space(self) -> str:
        """The vector space name the index records for vectors centered by these means."""
        return f"{self.model}{SPACE_MARK}{self.key}"

    def center(self, vector: np.ndarray, language: str) -> np.ndarray:
        """The vector minus its language's mean, re-normalized (the pooled mean for other languages)."""
        mean = self.means.get(language)
        if mean is None:
            mean = self.means.get(POOLED)
        vector = np.asarray(vector, dtype=np.float32)
        if mean is None or len(mean) != len(vector):
            return vector
        centered = vector - mean
        norm = float(np.linalg.norm(centered))
        return (centered / norm).astype(np.float32) if norm > 0 else vector


    def document_vector(self, vector: np.ndarray, language: str) -> tuple[np.ndarray, str]:
        """An index document's vector centered, and the vector space it then names as its model."""
        return self.center(vector, language), self.space


def model_of(space: str) -> str:
    """The embedding model of an index's vector space name (with or without centering)."""
    return space.split(SPACE_MARK, 1)[0]


def fit(model: str, vectors: np.ndarray, languages: Iterable[str]) -> Centering:
    """Means per language (those with at least MIN_VECTORS vectors) and pooled, from unit vectors."""
    vectors = np.asarray(vectors, dtype=np.float32)
    languages = np.asarray(list(languages))
    means = {POOLED: vectors.mean(axis=0)}
    for language in sorted(set(languages.tolist()) - {POOLED}):
        rows = vectors[languages == language]
        if len(rows) >= MIN_VECTORS:
            means[language] = rows.mean(axis=0)
    return Centering(model=model, means={k: v.astype(np.float32) for k, v in means.items()})


def save(centering: Centering, path: Path = CENTERING_FILE) -> Centering:
    """Writes the means (rounded to 7 decimals) and returns them as they will be read back."""
    written = Centering(model=centering.model, means={
        language: np.asarray([round(float(x), 7) for x in mean], dtype=np.float32)
        for language, mean in centering.means.items()})
    data = {"model": written.model, "key": written.key,
            "means": {language: [round(float(x), 7) for x in mean] for language, mean in written.means.items()}}
    # One line per language: the file stays readable in a diff.
    lines = [f' {json.dumps(language)}: {json.dumps(values)}' for language, values in data["means"].items()]
    path.write_text('{"model": %s, "key": %s, "means": {\n%s\n}}\n' % (
        json.dumps(data["model"]), json.dumps(data["key"]), ",\n".join(lines)), encoding="utf-8")
    saved.cache_clear()
    return written


@lru_cache(maxsize=1)
def saved() -> Centering | None:
    """The committed means, or None when there are none (no centering anywhere)."""
    if not CENTERING_FILE.exists():
        return None
    data = json.loads(CENTERING_FILE.read_text(encoding="utf-8"))
    return Centering(model=data["model"],
                     means={k: np.asarray(v, dtype=np.float32) for k, v in data.get("means", {}).items()})


def for_model(model: str) -> Centering | None:
    """The means to center `model`'s vectors with; None for any other model (never another's means)."""
    centering = saved()
    return centering if centering is not None and model and centering.model == model else None


def for_space(space: str) -> Centering | None:
    """The means an index's vectors were centered by, when this process holds them; else None."""
    centering = saved()
    return centering if centering is not None and SPACE_MARK in space and centering.space == space else None
