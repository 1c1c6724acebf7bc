"""A vector model fitted on the library itself (LSA), which understands Chinese as the library writes it.

TF-IDF over the stored tokens (the same `recommender.text.tokenize` for queries) plus the Chinese
character bigrams inside them, reduced by a truncated SVD. Words that occur in the same articles end
up close, so a paraphrase such as 回款慢 … 提前拿到钱 lands near the factoring article even where it
shares few exact words with it; the bundled English-only sentence model maps most Chinese to [UNK].

The vectors always have `DIM` components (zero-padded when the library is too small for that many),
so a refit never changes the dimension that the search index holds. The fit's fingerprint is part of
the embedding model's name: a refit that changes anything changes the name, and
`manage.py enrich --model-changed` re-embeds every article.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender import fitted

if TYPE_CHECKING:  # scikit-learn (and scipy under it) is imported on first fit, never at Django start-up
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

MODEL_NAME = "library-vectors"
UNFITTED = "lsa-unfitted"  # the name's part when nothing was fitted
DIM = 128  # fixed, whatever the library's size
# Components kept, as a share of the library's documents: fewer than the documents, so that words
# which co-occur are merged (the point of LSA); chosen on the dev half of the judged queries.
COMPONENTS_PER_DOCUMENT = 0.5
MIN_DOCUMENTS = 3  # below this there is nothing to learn co-occurrence from
REFIT_GROWTH = 0.10  # the periodic refit refits when the library grew or shrank by this share

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def features(tokens: list[str]) -> list[str]:
    """The tokens plus the character bigrams of Chinese tokens, so 回款 still meets 账款回收."""
    out = []
    for token in tokens:
        token = token.strip().lower()
        if not token:
            continue
        out.append(token)
        if len(token) > 2 and _CJK.search(token):
            out.extend(f"#{token[i:i + 2]}" for i in range(len(token) - 1))
    return out


def _as_is(document: list[str]) -> list[str]:
    return document


@dataclass
class LibraryVectors:
    """A fitted LSA model: `transform` maps token lists to L2-normalized DIM-dimensional vectors."""

    vectorizer: TfidfVectorizer
    svd: TruncatedSVD
    documents: int
    fingerprint: str
    dim: int = DIM

    @property
    def name(self) -> str:
        return f"lsa-{self.fingerprint}"

    def transform(self, token_lists: list[list[str]]) -> np.ndarray:
        """One row per token list; a list with no known word gives a zero row."""
        if not token_lists:
            return np.zeros((0, self.dim), dtype=np.float32)
        reduced = self.svd.transform(self.vectorizer.transform([features(t) for t in token_lists]))
        out = np.zeros((len(token_lists), self.dim), dtype=np.float32)
        out[:, :reduced.shape[1]] = reduced
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def fit(documents: list[list[str]], *, components_per_document: float | None = None) -> LibraryVectors | None:
    """Fits on the library's token lists; None when there is too little to fit (say, no articles)."""
    share = COMPONENTS_PER_DOCUMENT if components_per_document is None else components_per_document
    corpus = [features(d) for d in documents]
    corpus = [d for d in corpus if d]
    if len(corpus) < MIN_DOCUMENTS:
        return None
    from sklearn.decomposition import TruncatedSVD  # noqa: PLC0415
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    vectorizer = TfidfVectorizer(analyzer=_as_is, lowercase=False, sublinear_tf=True, min_df=1)
    matrix = vectorizer.fit_transform(corpus)
    components = min(DIM, max(2, int(round(share * len(corpus)))), matrix.shape[1] - 1,
                     len(corpus) - 1)
    if components < 1:
        return None
    svd = TruncatedSVD(n_components=components, algorithm="randomized", n_iter=10, random_state=0)
    svd.fit(matrix)
    digest = hashlib.sha1()
    digest.update("\x1f".join(vectorizer.get_feature_names_out()).encode("utf-8"))
    digest.update(np.round(svd.components_, 5).astype("<f4").tobytes())
    return LibraryVectors(vectorizer=vectorizer, svd=svd, documents=len(corpus), fingerprint=digest.hexdigest()[:10])


def saved() -> LibraryVectors | None:
    """The library's current fit, or None when it was never fitted (or the library was empty)."""
    model = fitted.load(MODEL_NAME)
    return model if isinstance(model, LibraryVectors) else None


def refit(documents: list[list[str]], *, force: bool = False) -> LibraryVectors | None:
    """Refits and saves when forced, never fitted, or the library's size moved by REFIT_GROWTH.

    Each refit with a new result changes the embedding model's name, which means re-embedding every
    article; refitting only on real growth keeps that rare. Returns the fit in force afterwards.
    """
    current = saved()
    count = sum(1 for d in documents if d)
    if not force and current is not None and abs(count - current.documents) < REFIT_GROWTH * current.documents:
        return current
    model = fit(documents)
    if model is None:
        fitted.delete(MODEL_NAME)
        return None
    if current is None or model.fingerprint != current.fingerprint:
        fitted.save(MODEL_NAME, model)
    return model
