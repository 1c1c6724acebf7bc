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
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import chain
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
        # Per string, the rules it matches whole: in the question (exact and phrase), in the answer
        # (phrase only), and the negatives (question only).
        self._question_rules: dict[str, tuple[KeywordRule, ...]] = {}
        self._answer_rules: dict[str, tuple[KeywordRule, ...]] = {}
        self._negative_rules: dict[str, tuple[KeywordRule, ...]] = {}
        for string, indexes in self._whole.items():
            rules_of = [self.rules[i] for i in indexes]
            if positive := tuple(r for r in rules_of if not r.negative):
                self._question_rules[string] = positive
            if phrase := tuple(r for r in rules_of if not r.negative and r.match == PHRASE):
                self._answer_rules[string] = phrase
            if negatives := tuple(r for r in rules_of if r.negative):
                self._negative_rules[string] = negatives
        self._part_users = {part: tuple(users) for part, users in self._part_users.items()}
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
        positive, negative = result.positive, result.negative
        for string in in_question:
            for rule in self._question_rules.get(string, ()):
                positive.setdefault(rule.campaign_id, []).append((rule, "question"))
            for rule in self._negative_rules.get(string, ()):
                negative.setdefault(rule.campaign_id, rule)
        for string in in_answer - in_question:
            for rule in self._answer_rules.get(string, ()):
                positive.setdefault(rule.campaign_id, []).append((rule, "answer"))
        either = in_question | in_answer
        # A broad keyword matches when every one of its words was found: count the found words per rule.
        counts = Counter(chain.from_iterable(self._part_users.get(s, ()) for s in either))
        for index, found in counts.items():
            parts = self._parts[index]
            if found == len(parts):
                rule = self.rules[index]
                where = "question" if all(p in in_question for p in parts) else "answer"
                positive.setdefault(rule.campaign_id, []).append((rule, where))
        return result
