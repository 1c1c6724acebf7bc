"""The sensitive-word filter (内容安全) for readers' questions: the list kept in the repository
(contentlib/sensitive_words.txt), matched with one Aho-Corasick automaton on the normalized text.

A Chinese word is found anywhere (Chinese has no spaces to align to); an English word only between
word boundaries, so "casino" is not found in "occasional". A question with any hit is never
published; the hits are stored on the question so that content-safety review sees them.
"""
import functools
from pathlib import Path

import ahocorasick

from contentlib.text import normalize_query

WORDS_FILE = Path(__file__).with_name("sensitive_words.txt")


def sensitive_words_load(path: Path = WORDS_FILE) -> list[str]:
    """The list's words, normalized, in file order, without comments, blanks and repeats."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(normalize_query(line))
    return list(dict.fromkeys(w for w in words if w))


@functools.cache
def _automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word in sensitive_words_load():
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


def _ascii_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def sensitive_hits(text: str) -> list[str]:
    """The list's words found in `text` (normalized first), each once, in order of first appearance."""
    normalized = normalize_query(text)
    automaton = _automaton()
    if not normalized or len(automaton) == 0:
        return []
    hits = []
    for end, word in automaton.iter(normalized):
        start = end - len(word) + 1
        if _ascii_word_char(word[0]) and start > 0 and _ascii_word_char(normalized[start - 1]):
            continue
        if _ascii_word_char(word[-1]) and end + 1 < len(normalized) and _ascii_word_char(normalized[end + 1]):
            continue
        hits.append(word)
    return list(dict.fromkeys(hits))
