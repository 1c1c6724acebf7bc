"""Campaign keywords matched against a question and its answer: every keyword at once, with one
Aho-Corasick automaton over the normalized text, keeping only matches on the segmenter's token
boundaries.

Keywords are never added to the segmentation lexicon (an advertiser must not re-segment the library),
so a bid phrase such as 展台设计 is found whole by the automaton and then accepted only if it starts and
ends where the segmenter cuts the text: 展台设计 matches 展台设计多少钱 (展台|设计|多少|钱) but not
展台设计师招聘 (展台|设计师|招聘), and "ai" never matches inside "maintenance".

Match types, as this site defines them for questions (not short search queries):
- exact: the keyword, whole, in the question;
- phrase: the keyword, whole, in the question or the answer;
- broad: each of the keyword's words (as the segmenter cuts the keyword), in any order, in the
  question or the answer.
A negative keyword found whole in the question removes its campaign.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import ahocorasick

from contentlib.text import normalize_query
from recommender.text import Segmenter, is_stopword

EXACT, PHRASE, BROAD = "exact", "phrase", "broad"


@dataclass(frozen=True)
class KeywordRule:
    campaign_id: int
    keyword_id: int
    text: str  # normalized (normalize_query)
    match: str
    negative: bool = False
    bid: Decimal | None = None  # None: the campaign's max bid


@dataclass
class Matches:
    """What one question and answer matched: campaign id -> its positive rules that matched (with
    where: "question" or "answer"), and campaign id -> the negative rule that removed it."""

    positive: dict[int, list[tuple[KeywordRule, str]]] = field(default_factory=dict)
    negative: dict[int, KeywordRule] = field(default_factory=dict)


def boundaries(seg: Segmenter, normalized: str) -> set[int]:
    """The offsets where the segmenter cuts `normalized` (precise mode), both ends included."""
    cuts, offset = {0}, 0
    for piece in seg.cut(normalized):
        offset += len(piece)
        cuts.add(offset)
    # A space is a boundary on both sides whatever jieba makes of it.
    for i, char in enumerate(normalized):
        if char == " ":
            cuts.update((i, i + 1))
    return cuts


def keyword_parts(seg: Segmenter, text: str) -> tuple[str, ...]:
    """A broad keyword's words: the segmenter's cut of it, without spaces, punctuation or stopwords
    (the whole keyword when nothing else is left)."""
    parts = [p.strip() for p in seg.cut(text)]
    kept = tuple(dict.fromkeys(p for p in parts if p and any(c.isalnum() for c in p) and not is_stopword(p)))
    return kept or (text,)


class KeywordMatcher:
    """Every keyword of every campaign in one automaton (built once per campaign book)."""

    def __init__(self, rules: Iterable[KeywordRule], seg: Segmenter):
        self.seg = seg
        self.rules: list[KeywordRule] = []
        self._whole: dict[str, list[int]] = defaultdict(list)  # string -> rules matched by it whole
        self._parts: dict[int, tuple[str, ...]] = {}  # broad rule -> its words
        self._part_users: dict[str, list[int]] = defaultdict(list)
        for rule in rules:
            text = normalize_query(rule.text)
            if not text:
                continue
            index = len(self.rules)
            self.rules.append(rule)
            if rule.match == BROAD and not rule.negative:
                parts = keyword_parts(seg, text)
                self._parts[index] = parts
                for part in parts:
                    self._part_users[part].append(index)
            else:
                self._whole[text].append(index)
        self._automaton = ahocorasick.Automaton()
        for string in self._whole.keys() | self._part_users.keys():
            self._automaton.add_word(string, string)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def found(self, normalized: str) -> set[str]:
        """The keyword strings found in `normalized` that start and end on token boundaries."""
        if self._empty or not normalized:
            return set()
        cuts = None
        out = set()
        for end, string in self._automaton.iter(normalized):
            if string in out:
                continue
            if cuts is None:
                cuts = boundaries(self.seg, normalized)
            if end + 1 - len(string) in cuts and end + 1 in cuts:
                out.add(string)
        return out

    def match(self, question: str, answer: str = "") -> Matches:
        q_text, a_text = normalize_query(question), normalize_query(answer)
        in_question = self.found(q_text)
        in_answer = self.found(a_text) if a_text else set()
        result = Matches()
        for string in in_question:
            for index in self._whole.get(string, ()):
                rule = self.rules[index]
                if rule.negative:
                    result.negative.setdefault(rule.campaign_id, rule)
                else:
                    result.positive.setdefault(rule.campaign_id, []).append((rule, "question"))
        for string in in_answer - in_question:
            for index in self._whole.get(string, ()):
                rule = self.rules[index]
                if rule.match == PHRASE and not rule.negative:
                    result.positive.setdefault(rule.campaign_id, []).append((rule, "answer"))
        either = in_question | in_answer
        broad = {i for s in either for i in self._part_users.get(s, ())}
        for index in broad:
            parts = self._parts[index]
            if all(p in either for p in parts):
                rule = self.rules[index]
                where = "question" if all(p in in_question for p in parts) else "answer"
                result.positive.setdefault(rule.campaign_id, []).append((rule, where))
        return result
