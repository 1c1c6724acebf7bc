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


def content_hash(title: str, text: str) -> str:
    """Returns the SHA-256 hex digest of the normalized title and text, not of any markup."""
    payload = normalize_text(title) + "\n" + normalize_text(text)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
