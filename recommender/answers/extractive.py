"""The offline provider: the best sentences of the top references, quoted word for word, each cited.

Sentences are scored by how much of the question's weight they hold (each question word weighted by
how rare it is among the references' sentences), with a small bonus for a reference ranked higher
and for a sentence near the article's start. The reference in the question's language comes first
when the library has one. Nothing is paraphrased, so every cited sentence appears in its article.
When retrieval says nothing fits, or no sentence holds enough of the question, it says that the
library has no answer instead.
"""
import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from django.utils import translation
from django.utils.translation import gettext as _

from recommender.answers.base import Draft, Reference
from recommender.summary import sentences as split_sentences
from recommender.text import tokenize

NAME = "extractive"


@dataclass(frozen=True)
class ExtractiveParams:
    """Chosen on the dev half of the judged queries (`manage.py answer_quality --tune`)."""

    max_sentences: int = 3
    max_chars: int = 420  # the answer's length without markers
    max_cited: int = 2  # references cited at most
    # A reference below this share of the top reference's retrieval score is not quoted.
    score_ratio: float = 0.6
    # A sentence holding less of the question's weight than this is not quoted. When even the best
    # one holds less: the top reference's first sentence (`lead_fallback`), or no answer.
    min_coverage: float = 0.25
    lead_fallback: bool = True


DEFAULT_PARAMS = ExtractiveParams()
MIN_SENTENCE_CHARS = 12


def no_answer_text(language: str) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return _("The library has no article that answers this question yet.")


def _language_of(reference: Reference) -> str:
    return reference.language or "other"


def compose(question: str, references: list[Reference], *, language: str, nothing_fits: bool,
            params: ExtractiveParams = DEFAULT_PARAMS) -> Draft:
    """The extractive answer: sentences of at most `max_cited` references, in reference order, each
    followed by its [n]; or the "no answer" text, citing nothing."""
    empty = Draft(text=no_answer_text(language), provider=NAME, model_name=NAME)
    if nothing_fits or not references:
        return empty
    top = max(r.score for r in references) or 1.0
    candidates = [r for r in references if r.score >= params.score_ratio * top] or references[:1]
    same_language = [r for r in candidates if _language_of(r) == language]
    if same_language:  # the question's language where the library has it
        candidates = same_language + [r for r in candidates if r not in same_language]
    question_words = set(tokenize(question))
    if not question_words:
        return empty
    pieces: list[tuple[int, int, str]] = []  # (reference rank, sentence position, sentence)
    bags = []
    for rank, reference in enumerate(candidates):
        for position, sentence in enumerate(split_sentences(reference.text, _language_of(reference))):
            if len(sentence) < MIN_SENTENCE_CHARS:
                continue
            words = set(tokenize(sentence))
            bags.append(words)
            pieces.append((rank, position, sentence))
    if not pieces:
        return empty
    frequency = Counter(w for bag in bags for w in bag & question_words)
    total = len(bags)
    weight = {w: math.log(1.0 + total / (1.0 + frequency[w])) for w in question_words}
    whole = sum(weight.values()) or 1.0
    scored = []
    for (rank, position, sentence), words in zip(pieces, bags, strict=True):
        coverage = sum(weight[w] for w in words & question_words) / whole
        prior = 1.0 + 0.15 / (1.0 + rank) + 0.05 / (1.0 + position)
        scored.append((coverage * prior, coverage, rank, position, sentence))
    scored.sort(key=lambda s: (-s[0], s[2], s[3]))
    if scored[0][1] < params.min_coverage:
        if not params.lead_fallback:
            return empty
        # No sentence holds enough of the question: the top reference's opening says what it is about.
        lead = pieces[0]  # the first sentence of the first candidate
        chosen, ranks = [lead], [lead[0]]
    else:
        chosen, used_chars, ranks = [], 0, []
        for _score, coverage, rank, position, sentence in scored:
            if coverage < params.min_coverage:
                continue
            if rank not in ranks and len(ranks) >= params.max_cited:
                continue
            if chosen and used_chars + len(sentence) > params.max_chars:
                continue
            chosen.append((rank, position, sentence))
            used_chars += len(sentence)
            if rank not in ranks:
                ranks.append(rank)
            if len(chosen) >= params.max_sentences:
                break
    chosen.sort(key=lambda c: (ranks.index(c[0]), c[1]))
    order = [candidates[rank].id for rank in ranks]
    joiner = "" if language == "zh" else " "
    text = joiner.join(f"{sentence}[{order.index(candidates[rank].id) + 1}]" for rank, _p, sentence in chosen)
    return Draft(text=text, cited=order, provider=NAME, model_name=NAME)


class ExtractiveProvider:
    name = NAME
    model_name = NAME
    two_pass = False

    def __init__(self, params: ExtractiveParams = DEFAULT_PARAMS):
        self.params = params

    def answer(self, question: str, references: list[Reference], *, language: str, nothing_fits: bool,
               on_delta: Callable[[str], None] | None = None) -> Draft:
        draft = compose(question, references, language=language, nothing_fits=nothing_fits, params=self.params)
        if on_delta is not None:
            on_delta(draft.text)
        return draft

    def analyse(self, topic: str, references: list[Reference], *, language: str) -> Draft:
        return analysis(references, language=language)


def analysis(references: list[Reference], *, language: str, per_reference: int = 2) -> Draft:
    """An extractive digest for an industry analysis: each reference's opening sentences, cited."""
    paragraphs, cited = [], []
    for reference in references:
        found = [s for s in split_sentences(reference.text, _language_of(reference)) if len(s) >= MIN_SENTENCE_CHARS]
        if not found:
            continue
        cited.append(reference.id)
        joiner = "" if _language_of(reference) == "zh" else " "
        paragraphs.append(f"{reference.title}: {joiner.join(found[:per_reference])}[{len(cited)}]")
    return Draft(text="\n\n".join(paragraphs), cited=cited, provider=NAME, model_name=NAME)
