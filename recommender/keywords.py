"""Keywords: TF-IDF over the library's own document frequencies, re-ranked for diversity (MMR).

Candidates come from the shared segmenter. Chinese keeps jieba's words and the two- and three-word
compounds that recur in the article (冷链 + 物流 → 冷链物流, when the article says it more than
once); English keeps phrases of one to three words that never cross a stopword or punctuation.
Document frequencies are fitted with scikit-learn on the library and saved; the periodic refit keeps
them current as the library grows.
"""
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender import fitted
from recommender.text import is_stopword, normalize_text, segmenter

MODEL_NAME = "keywords-idf"
TOP_K = 10
CANDIDATES_FOR_MMR = 30
MMR_LAMBDA = 0.7
TITLE_BOOST = 1.5

# Names of people and places, numerals, times and measure words are rarely what an editor tags.
_SKIPPED_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "m", "mq", "t", "q", "tg"})
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"^[0-9a-z][0-9a-z.+\-]*$")
_NUMBERISH = re.compile(r"^[0-9.,%+\-]+$")


@dataclass(frozen=True)
class ScoredKeyword:
    text: str
    weight: float


def _keepable(word: str) -> bool:
    if not word or is_stopword(word) or _NUMBERISH.match(word):
        return False
    if _CJK.search(word):
        return len(word) >= 2
    return bool(_WORD.match(word)) and len(word) >= 2


def _phrases(text: str) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Returns candidate occurrences in order, and each multi-word candidate's parts."""
    normalized = normalize_text(text)
    if not normalized:
        return [], {}
    out: list[str] = []
    parts: dict[str, tuple[str, ...]] = {}
    run: list[str] = []  # words since the last boundary (punctuation or stopword)

    def flush():
        for n in (2, 3):
            for i in range(len(run) - n + 1):
                gram = tuple(run[i:i + n])
                if any(_CJK.search(w) for w in gram):
                    phrase = "".join(gram)  # Chinese compounds (and 3d打印, b轮融资) are written solid
                    if not 3 <= len(phrase) <= 10:
                        continue
                else:
                    phrase = " ".join(gram)
                out.append(phrase)
                parts[phrase] = gram
        run.clear()

    for word, tag in segmenter().tag(normalized):
        word = word.strip()
        if not word:
            continue
        if tag in _SKIPPED_TAGS:
            flush()
            continue
        if _keepable(word):
            out.append(word)
            run.append(word)
        else:
            flush()
    flush()
    return out, parts


def candidates(text: str) -> list[str]:
    """Returns every candidate occurrence in `text` (a term appears once per occurrence)."""
    return _phrases(text)[0]


def candidate_counts(text: str) -> Counter:
    """Counts candidates. A phrase counts only when the article repeats it (once may be chance),
    and a repeated phrase's occurrences are credited to it rather than to its parts (C-value style)."""
    found, parts = _phrases(text)
    counts = Counter(found)
    for phrase in parts:
        if counts[phrase] < 2:
            del counts[phrase]
    for phrase in sorted((p for p in parts if p in counts), key=lambda p: -len(parts[p])):
        for part in parts[phrase]:
            if part in counts:
                counts[part] -= counts[phrase]
    return +counts


def fit_idf(documents: list[list[str]]) -> dict:
    """Fits document frequencies on candidate lists with scikit-learn; saves and returns them."""
    model = {"idf": {}, "documents": len(documents)}
    nonempty = [sorted(set(d)) for d in documents if d]
    if nonempty:
        vectorizer = TfidfVectorizer(analyzer=_as_is, lowercase=False, smooth_idf=True)
        vectorizer.fit(nonempty)
        model["idf"] = {t: float(v) for t, v in zip(vectorizer.get_feature_names_out(), vectorizer.idf_)}
    fitted.save(MODEL_NAME, model)
    return model


def _as_is(document: list[str]) -> list[str]:
    return document


def _idf(model: dict | None, term: str) -> float:
    if not model or not model["documents"]:
        return 1.0
    # An unseen term is as rare as a term in no document (scikit-learn's smoothed formula with df=0).
    return model["idf"].get(term) or (math.log((1 + model["documents"]) / 1) + 1.0)


def lexical_similarity(a: str, b: str) -> float:
    """Overlap of characters (Chinese) or words (English) relative to the shorter term."""
    sa = set(a) if _CJK.search(a + b) else set(a.split())
    sb = set(b) if _CJK.search(a + b) else set(b.split())
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def rank(*, title: str, text: str) -> list[tuple[str, float]]:
    """Returns the best candidates by TF-IDF (title terms boosted), best first, before diversity."""
    counts = candidate_counts(text)
    title_terms = set(candidates(title))
    for term in title_terms:
        counts[term] += 1
    model = fitted.load(MODEL_NAME)
    scores = {}
    for term, tf in counts.items():
        score = (1.0 + math.log(tf)) * _idf(model, term)
        if term in title_terms:
            score *= TITLE_BOOST
        scores[term] = score
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:CANDIDATES_FOR_MMR]


def extract(*, title: str, text: str, language: str, top_k: int = TOP_K, embed=None) -> tuple[list[ScoredKeyword], str]:
    """Returns the top keywords with weights, and the method used.

    `embed(list[str]) -> np.ndarray` gives normalized vectors for the MMR similarity; it is used for
    English, which the bundled model understands; Chinese uses lexical overlap.
    """
    return diversify(rank(title=title, text=text), language=language, top_k=top_k, embed=embed)


def diversify(ranked: list[tuple[str, float]], *, language: str, top_k: int = TOP_K,
              embed=None) -> tuple[list[ScoredKeyword], str]:
    """MMR over `rank`'s candidates: returns the top keywords with weights, and the method used."""
    if not ranked:
        return [], "tfidf"
    top = ranked[0][1]
    terms = [t for t, _ in ranked]
    relevance = np.array([s / top for _, s in ranked])

    use_embeddings = embed is not None and language == "en"
    if use_embeddings:
        vectors = embed(terms)
        similarity = np.clip(vectors @ vectors.T, 0.0, 1.0)
    else:
        similarity = np.array([[lexical_similarity(a, b) for b in terms] for a in terms])

    chosen: list[int] = []
    remaining = list(range(len(terms)))
    while remaining and len(chosen) < top_k:
        if chosen:
            redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        mmr = MMR_LAMBDA * relevance[remaining] - (1 - MMR_LAMBDA) * redundancy
        best = remaining[int(np.argmax(mmr))]
        chosen.append(best)
        remaining.remove(best)
    method = "tfidf+mmr:" + ("embedding" if use_embeddings else "lexical")
    return [ScoredKeyword(terms[i], round(float(relevance[i]), 4)) for i in chosen], method
