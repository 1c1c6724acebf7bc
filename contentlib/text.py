"""Text normalization shared by the content hash (here) and by segmentation (recommender.text)."""
import hashlib
import re
import unicodedata

_SPACES = re.compile(r"\s+")
# A code point in U+D800..U+DFFF is half of a UTF-16 pair on its own: no encoding can store it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogate_position(text: str) -> int | None:
    """Returns the index of the first lone surrogate in `text` (not valid Unicode text), or None."""
    found = _SURROGATE.search(text or "")
    return found.start() if found else None


def normalize_text(text: str) -> str:
    """Returns `text` folded to one form: NFKC (full-width to half-width), lowercase, single spaces, no NULs.

    Dropping NULs makes the hash of a text the same before and after the library's cleaning (which
    removes them and collapses spaces), so a caller may hash what it is about to save.
    """
    folded = unicodedata.normalize("NFKC", (text or "").replace("\x00", "")).lower()
    return _SPACES.sub(" ", folded).strip()


def reason_clean(reason: str | None) -> str:
    """A reason staff typed (a rejection, a refusal) as it is stored: trimmed, without NULs, which
    PostgreSQL's text cannot hold and which a form's raw POST value may carry."""
    return (reason or "").replace("\x00", "").strip()


def content_hash(title: str, text: str) -> str:
    """Returns the SHA-256 hex digest of the normalized title and text, not of any markup."""
    payload = normalize_text(title) + "\n" + normalize_text(text)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_CJK = r"\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


def _is_edge(char: str) -> bool:
    """Punctuation, symbols and spaces (Unicode categories P*, S*, Z*): dropped at a query's ends."""
    return unicodedata.category(char)[0] in "PSZ"


def normalize_query(text: str) -> str:
    """Returns a reader's question, a campaign keyword or a logged search in one comparable form.

    NFKC (full-width to half-width), lowercase, single spaces, no spaces between two CJK characters
    ("智能 制造" and "智能制造" are one query) and no punctuation or symbols at either end
    ("什么是MES？" is "什么是mes"). Punctuation inside stays: "c++ 教程", "e-commerce".
    """
    folded = _SPACE_BETWEEN_CJK.sub("", normalize_text(surrogate_free(text)))
    start, end = 0, len(folded)
    while start < end and _is_edge(folded[start]):
        start += 1
    while end > start and _is_edge(folded[end - 1]):
        end -= 1
    return folded[start:end]


def surrogate_free(text: str) -> str:
    """Returns `text` without lone surrogates (which no encoding can store)."""
    return _SURROGATE.sub("", text or "")
