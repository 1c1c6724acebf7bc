"""The offline provider: the best sentences of the first reference, quoted word for word, each cited.

Sentences are scored by how much of the question's weight they hold (each question word weighted by
how rare it is among the references' sentences), with a small bonus for a reference ranked higher
and for a sentence near the article's start; when none holds enough, the reference's opening
sentence says what it is about. A reference in the question's language among the first two comes
first. Nothing is paraphrased, so every cited sentence appears in its article. When the caller says
nothing fits (retrieval's judgement), the answer says that the library has no answer instead.
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

    max_sentences: int = 2
    max_chars: int = 420  # the answer's length without markers
    # References cited at most. On dev a second reference was judged relevant in 6 answers of 69,
    # and cost more precision than it added answers.
    max_cited: int = 1
    # A reference in the question's language among the first `language_window` comes first.
    language_window: int = 2
    # A sentence holding less of the question's weight than this is not quoted; when even the best
    # sentence of the first reference holds less, its opening sentence is quoted instead.
    min_coverage: float = 0.2


DEFAULT_PARAMS = ExtractiveParams()
MIN_SENTENCE_CHARS = 12


def no_answer_text(language: str) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return _("The library has no article that answers this question yet.")


def _same_text(sentence: str) -> str:
    """A sentence as the reader sees it, for telling a repeat: a page that says a line twice (a pull
    quote, a repeated lead, a syndicated copy in the same library) is quoted once."""
    return " ".join(sentence.split()).casefold()


def _language_of(reference: Reference) -> str:
    return reference.language or "other"


def compose(question: str, references: list[Reference], *, language: str, nothing_fits: bool,
            params: ExtractiveParams = DEFAULT_PARAMS) -> Draft:
    """The extractive answer: sentences of at most `max_cited` references, the first reference's
    first, each followed by its [n]; or the "no answer" text, citing nothing."""
    empty = Draft(text=no_answer_text(language), provider=NAME, model_name=NAME)
    question_words = set(tokenize(question))
    if nothing_fits or not references or not question_words:
        return empty
    candidates = list(references[:max(params.max_cited, params.language_window)])
    if _language_of(candidates[0]) != language:  # the question's language where the library has it
        same = next((r for r in candidates[:params.language_window] if _language_of(r) == language), None)
        if same is not None:
            candidates.remove(same)
            candidates.insert(0, same)
    candidates = candidates[:params.max_cited]
    pieces: list[tuple[int, int, str]] = []  # (reference rank, sentence position, sentence)
    bags: list[set[str]] = []
    for rank, reference in enumerate(candidates):
        for position, sentence in enumerate(split_sentences(reference.text, _language_of(reference))):
            if len(sentence) >= MIN_SENTENCE_CHARS:
                pieces.append((rank, position, sentence))
                bags.append(set(tokenize(sentence)))
    if not pieces:
        return empty
    frequency = Counter(w for bag in bags for w in bag & question_words)
    weight = {w: math.log(1.0 + len(bags) / (1.0 + frequency[w])) for w in question_words}
    whole = sum(weight.values()) or 1.0
    scored = []
    for (rank, position, sentence), words in zip(pieces, bags, strict=True):
        coverage = sum(weight[w] for w in words & question_words) / whole
        prior = 1.0 + 0.15 / (1.0 + rank) + 0.05 / (1.0 + position)
        scored.append((coverage * prior, coverage, rank, position, sentence))
    scored.sort(key=lambda s: (-s[0], s[2], s[3]))
    first = next(s for s in scored if s[2] == 0)
    if first[1] < params.min_coverage:
        # The first reference has no sentence that holds enough of the question: its opening says
        # what it is about.
        first = next((0.0, 0.0, rank, position, sentence) for rank, position, sentence in pieces if rank == 0)
    chosen, used_chars, ranks = [first[2:]], len(first[4]), [0]
    quoted = {_same_text(first[4])}
    for _score, coverage, rank, position, sentence in scored:
        if len(chosen) >= params.max_sentences:
            break
        if coverage < params.min_coverage or _same_text(sentence) in quoted:
            continue  # too little of the question, or a sentence the answer already quotes
        if used_chars + len(sentence) > params.max_chars:
            continue
        chosen.append((rank, position, sentence))
        quoted.add(_same_text(sentence))
        used_chars += len(sentence)
        if rank not in ranks:
            ranks.append(rank)
    chosen.sort(key=lambda c: (ranks.index(c[0]), c[1]))
    order = [candidates[rank].id for rank in ranks]
    joiner = "" if language == "zh" else " "
    text = joiner.join(f"{sentence}[{ranks.index(rank) + 1}]" for rank, _p, sentence in chosen)
    return Draft(text=text, cited=order, provider=NAME, model_name=NAME)


class ExtractiveProvider:
    name = NAME
    model_name = NAME

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
