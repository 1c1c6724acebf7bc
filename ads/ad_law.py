"""Absolute terms that 广告法 article 9 bans in advertising (the list is ads/ad_law_terms.txt)."""
from functools import lru_cache
from pathlib import Path

from contentlib.text import normalize_text

TERMS_FILE = Path(__file__).with_name("ad_law_terms.txt")


@lru_cache(maxsize=1)
def terms() -> tuple[str, ...]:
    """The terms of the list, normalized, longest first (so 全网最低 is reported rather than only 最低)."""
    lines = TERMS_FILE.read_text(encoding="utf-8").splitlines()
    found = {normalize_text(line) for line in lines if line.strip() and not line.lstrip().startswith("#")}
    return tuple(sorted(found, key=lambda term: (-len(term), term)))


def absolute_terms(*texts: str) -> list[str]:
    """Returns the listed terms that occur in the texts, each once, in the list's order (longest first).

    A term found only inside a longer listed term (最低 inside 全网最低) is not reported again.
    """
    folded = "\n".join(normalize_text(text) for text in texts)
    found = []
    for term in terms():
        remaining = folded
        for longer in found:
            remaining = remaining.replace(longer, "\x00")
        if term in remaining:
            found.append(term)
    return found
