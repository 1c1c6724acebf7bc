"""Citation markers: finding them, dropping those that point at no reference, numbering by first use,
and checking that a cited sentence is supported by the article it cites."""
import re

from recommender.text import tokenize

# [1], [1, 2], [1][2], 【1】, [^1]: what models write; normalized to [n].
_MARKER = re.compile(r"[\[【]\^?\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_MARKERS_RUN = re.compile(r"(?:\s*\[\d+\])+")
_LEADING_PUNCTUATION = re.compile(r"^[\s。．.，,；;：:！!？?]+")
_ANY_MARKER = re.compile(r"\s*\[(\d+)\]")


def strip_markers(text: str) -> str:
    return _ANY_MARKER.sub("", text or "").strip()


def clean(text: str, count: int) -> tuple[str, list[int]]:
    """Returns `text` with every marker rewritten as [n] for the references 1..count it names, markers
    naming no reference removed, and the reference numbers cited in order of first use."""
    used: list[int] = []

    def rewrite(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,，、]\s*", match.group(1))]
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= count]
        used.extend(n for n in valid if n not in used)
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(rewrite, text or "")
    cleaned = re.sub(r"[ \t]+(?=[。，,.!?！？])", "", cleaned)
    return cleaned.strip(), used


def renumber(text: str, order: list[int]) -> str:
    """Rewrites [old] as [new], new being old's 1-based place in `order` (the first-use order)."""
    place = {old: new for new, old in enumerate(order, start=1)}
    return _ANY_MARKER.sub(lambda m: f"[{place[int(m.group(1))]}]" if int(m.group(1)) in place else "", text)


def cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(passage without markers, the reference numbers it cites) for every cited passage of an answer:
    the text before each run of markers, back to the previous run. Text after the last marker is
    uncited and left out. Punctuation a model puts after a marker ("… [1].") ends the passage before."""
    out = []
    start = 0
    for match in _MARKERS_RUN.finditer(text or ""):
        passage = text[start:match.start()]
        passage = _LEADING_PUNCTUATION.sub("", passage).strip()
        start = match.end()
        numbers = [int(n) for n in _ANY_MARKER.findall(match.group(0))]
        if passage:
            out.append((passage, numbers))
    return out


def uncited_tail(text: str) -> str:
    """The text after the last marker (an answer's uncited end), without its leading punctuation."""
    last = None
    for last in _MARKERS_RUN.finditer(text or ""):
        pass
    tail = text[last.end():] if last else (text or "")
    return _LEADING_PUNCTUATION.sub("", tail).strip()


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text or "").lower()


def appears_in(sentence: str, source: str) -> bool:
    """True when the sentence is in the source text word for word (spaces and case aside)."""
    return bool(sentence) and _compact(sentence) in _compact(source)


SUPPORT_OVERLAP = 0.6  # share of a sentence's words that the cited article must hold


def supported(sentence: str, source: str, *, overlap: float = SUPPORT_OVERLAP) -> bool:
    """True when the sentence appears in the source, or when at least `overlap` of its words (and of
    its Chinese character pairs, so a paraphrase of a Chinese clause still counts) occur in it."""
    if appears_in(sentence, source):
        return True
    words = set(tokenize(sentence))
    if not words:
        return False
    source_words = set(tokenize(source))
    share = len(words & source_words) / len(words)
    han = re.sub(r"[^\u4e00-\u9fff]", "", sentence)
    if len(han) >= 6:
        pairs = {han[i:i + 2] for i in range(len(han) - 1)}
        compact = _compact(source)
        share = max(share, sum(p in compact for p in pairs) / len(pairs))
    return share >= overlap
