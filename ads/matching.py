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
import numpy as np

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
    """What one question and answer matched, as arrays of the matcher's rule indexes (few Python
    objects, however many campaigns match): the positive rules that matched, whether each matched in
    the question (else only in the answer), and the negative rules found in the question.
    `positive` and `negative` give the same as {campaign id: ...} dicts, for reading."""

    matcher: "KeywordMatcher | None" = None
    rules: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    in_question: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    negatives: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def positive(self) -> dict[int, list[tuple[KeywordRule, str]]]:
        """Campaign id -> its positive rules that matched, with where ("question" or "answer")."""
        out: dict[int, list[tuple[KeywordRule, str]]] = {}
        for index, asked in zip(self.rules.tolist(), self.in_question.tolist(), strict=True):
            rule = self.matcher.rules[index]
            out.setdefault(rule.campaign_id, []).append((rule, "question" if asked else "answer"))
        return out

    @property
    def negative(self) -> dict[int, KeywordRule]:
        """Campaign id -> the (first) negative rule that removed it."""
        out: dict[int, KeywordRule] = {}
        for index in self.negatives.tolist():
            rule = self.matcher.rules[index]
            out.setdefault(rule.campaign_id, rule)
        return out


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
        # Per string, the indexes of the rules it matches whole: in the question (exact and phrase),
        # in the answer (phrase only), and the negatives (question only); and of the broad rules it is
        # a word of. Arrays, so that a match gathers thousands of rules without a Python object each.
        self._question_rules: dict[str, np.ndarray] = {}
        self._answer_rules: dict[str, np.ndarray] = {}
        self._negative_rules: dict[str, np.ndarray] = {}
        for string, indexes in self._whole.items():
            rules_of = [(i, self.rules[i]) for i in indexes]
            if positive := [i for i, r in rules_of if not r.negative]:
                self._question_rules[string] = np.array(positive, dtype=np.int64)
            if phrase := [i for i, r in rules_of if not r.negative and r.match == PHRASE]:
                self._answer_rules[string] = np.array(phrase, dtype=np.int64)
            if negatives := [i for i, r in rules_of if r.negative]:
                self._negative_rules[string] = np.array(negatives, dtype=np.int64)
        self._part_users = {part: np.array(users, dtype=np.int64) for part, users in self._part_users.items()}
        # How many words each broad rule has (0 for the others).
        self._part_counts = np.zeros(len(self.rules), dtype=np.int64)
        for index, parts in self._parts.items():
            self._part_counts[index] = len(parts)
        del self._whole
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
        in_answer = (self.found(a_text) - in_question) if a_text else set()
        # Sorted, so that the same texts give the same arrays in the same order in every process.
        asked, answered = sorted(in_question), sorted(in_answer)
        whole_q = [self._question_rules[s] for s in asked if s in self._question_rules]
        whole_a = [self._answer_rules[s] for s in answered if s in self._answer_rules]
        negatives = [self._negative_rules[s] for s in asked if s in self._negative_rules]
        # A broad keyword matches when every one of its words was found: count the found words per
        # rule (a rule's words are distinct), in the question and in both.
        broad_q = [self._part_users[s] for s in asked if s in self._part_users]
        broad_a = [self._part_users[s] for s in answered if s in self._part_users]
        broad = np.zeros(0, dtype=np.int64)
        broad_asked = np.zeros(0, dtype=bool)
        if broad_q or broad_a:
            users, counts = np.unique(np.concatenate(broad_q + broad_a), return_counts=True)
            whole = counts == self._part_counts[users]
            broad = users[whole]
            if broad_q:
                q_users, q_counts = np.unique(np.concatenate(broad_q), return_counts=True)
                position = np.searchsorted(q_users, broad)
                position = np.minimum(position, len(q_users) - 1)
                broad_asked = (q_users[position] == broad) & (q_counts[position] == self._part_counts[broad])
            else:
                broad_asked = np.zeros(len(broad), dtype=bool)
        empty = np.zeros(0, dtype=np.int64)
        q_rules = np.concatenate(whole_q) if whole_q else empty
        a_rules = np.concatenate(whole_a) if whole_a else empty
        return Matches(
            matcher=self,
            rules=np.concatenate([q_rules, a_rules, broad]),
            in_question=np.concatenate([np.ones(len(q_rules), dtype=bool), np.zeros(len(a_rules), dtype=bool),
                                        broad_asked]),
            negatives=np.concatenate(negatives) if negatives else empty)
