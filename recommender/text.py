"""Text basics shared by indexing and querying: language, normalization, tokens, stopwords.

Articles are segmented once, at enrichment, and the tokens are stored; every search backend indexes
those stored tokens, and queries go through `tokenize` too, so both sides always agree.
"""
import hashlib
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

import rjieba
import stopwordsiso

from contentlib.text import normalize_text

__all__ = ["detect_language", "normalize_text", "tokenize", "Segmenter", "segmenter", "is_stopword"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]{2,}")
_TOKEN_OK = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A Latin token keeps inner dots, hyphens and plus signs (e.g. "5g", "c++", "b2b", "iso-13485").
_LATIN_TOKEN = re.compile(r"^[0-9a-z][0-9a-z.+\-]*$")


def detect_language(text: str) -> str:
    """Returns "zh", "en" or "other" from the share of Chinese characters and Latin words."""
    sample = (text or "")[:20000]
    cjk = len(_CJK.findall(sample))
    latin_words = len(_LATIN_WORD.findall(sample.lower()))
    if cjk == 0 and latin_words == 0:
        return "other"
    # One Chinese character carries about as much as one English word; 0.3 allows English terms in
    # Chinese prose (AGV, ERP) and a Chinese name in English prose.
    if cjk >= 0.3 * latin_words and cjk >= 5:
        return "zh"
    if latin_words >= 3:
        return "en"
    return "zh" if cjk else "other"


# scikit-learn's classic English list, less the words that carry meaning in industry text
# ("trade show", "bill of lading", "system integrator", "interest rate").
_EN_KEEP = {"show", "system", "interest", "fire", "bill", "call", "part", "front", "back", "top", "full", "detail",
            "mill", "found", "find", "move", "fill", "side", "cry", "con", "de"}


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    # Imported here: scikit-learn's feature extraction takes ~1 s and ~750 modules to import, and
    # every Django process imports this module (the admin's lexicon), a crawl included, for a
    # word list only enrichment reads.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: PLC0415

    words = set(stopwordsiso.stopwords("zh")) | (set(ENGLISH_STOP_WORDS) - _EN_KEEP)
    return frozenset(normalize_text(w) for w in words)


def is_stopword(token: str) -> bool:
    return token in _stopwords()


class Segmenter:
    """jieba's dictionary (via rjieba) in search mode, plus the library's own lexicon terms.

    `version` changes whenever the set of extra terms changes, so stored tokens can say which
    dictionary produced them.
    """

    def __init__(self, extra_terms: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._jieba = rjieba.Jieba()
        self._terms: frozenset[str] = frozenset()
        self.load_terms(extra_terms)

    @property
    def version(self) -> str:
        digest = hashlib.sha1("\n".join(sorted(self._terms)).encode("utf-8")).hexdigest()[:12]
        return f"jieba+{len(self._terms)}:{digest}"

    @property
    def terms(self) -> frozenset[str]:
        return self._terms

    def load_terms(self, terms: Iterable[str]) -> None:
        """Replaces the extra terms. jieba cannot forget a word, so a removal rebuilds the dictionary."""
        wanted = frozenset(t for t in (normalize_text(t) for t in terms) if t)
        with self._lock:
            if not wanted >= self._terms:
                self._jieba = rjieba.Jieba()
                self._terms = frozenset()
            for term in wanted - self._terms:
                # A high frequency makes the phrase win over its parts in both cut and search mode.
                self._jieba.add_word(term, 100000, None)
            self._terms = wanted

    def cut(self, normalized: str) -> list[str]:
        """Precise-mode words of already-normalized text, punctuation included (for phrases)."""
        with self._lock:
            return self._jieba.cut(normalized, True)

    def tag(self, normalized: str) -> list[tuple[str, str]]:
        """Precise-mode words with jieba's part-of-speech tags (nr person, ns place, m numeral, ...)."""
        with self._lock:
            return self._jieba.tag(normalized, True)

    def has_word(self, word: str) -> bool:
        with self._lock:
            return self._jieba.has_word(word)

    def tokens(self, text: str) -> list[str]:
        normalized = normalize_text(text)
        if not normalized:
            return []
        with self._lock:
            pieces = self._jieba.cut_for_search(normalized, True)
        out = []
        for piece in pieces:
            piece = piece.strip()
            if not piece or not _TOKEN_OK.search(piece) or is_stopword(piece):
                continue
            if not _CJK.search(piece) and not _LATIN_TOKEN.match(piece):
                piece = piece.strip(".-+")
                if not piece or is_stopword(piece):
                    continue
            out.append(piece)
        return out


_default_segmenter: Segmenter | None = None
_default_lock = threading.Lock()


def segmenter() -> Segmenter:
    """The process's segmenter, built once; the lexicon keeps it current (see recommender.lexicon)."""
    global _default_segmenter
    if _default_segmenter is None:
        with _default_lock:
            if _default_segmenter is None:
                _default_segmenter = Segmenter()
    return _default_segmenter


def tokenize(text: str) -> list[str]:
    """Returns the search tokens of `text`: normalized, segmented, without stopwords or punctuation."""
    return segmenter().tokens(text)
