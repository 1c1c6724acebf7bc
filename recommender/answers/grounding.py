"""What every model provider does with a model's text: keep only citations of real references,
number them by first use, and fall back to the extractive answer, with a notice, when none is left
or the model fails (`ModelProvider`)."""
import logging
from abc import ABC, abstractmethod
from typing import Callable

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from recommender.answers import citations, extractive, prompts
from recommender.answers.base import Draft, Reference

logger = logging.getLogger(__name__)

MAX_CITED = 5

# Shown with an answer that is not the configured model's (translated when shown, in the question's language).
NO_VALID_CITATION = gettext_noop(
    "The AI model’s answer cited none of the library’s articles, so it is not shown; these sentences are quoted "
    "from the library instead.")
MODEL_FAILED = gettext_noop(
    "The AI model could not answer (%(reason)s); these sentences are quoted from the library instead.")


def notice_text(language: str, message: str, **values) -> str:
    with translation.override("zh-hans" if language == "zh" else "en"):
        return _(message) % values if values else _(message)


def ground(raw: str, references: list[Reference], *, provider: str, model_name: str) -> Draft | None:
    """The model's text with citations of existing references only, renumbered by first use (at most
    MAX_CITED), reference n being `cited[n - 1]`; None when no valid citation is left."""
    text, used = citations.clean(raw, len(references))
    used = used[:MAX_CITED]
    if not used or not citations.strip_markers(text):
        return None
    return Draft(text=citations.renumber(text, used), cited=[references[n - 1].id for n in used],
                 provider=provider, model_name=model_name)


class ModelProvider(ABC):
    """A provider that asks a language model (`complete`), grounded and with the extractive fallback."""

    name = ""
    model_name = ""

    @abstractmethod
    def complete(self, messages: list[dict], *, on_delta: Callable[[str], None] | None = None) -> str:
        """The model's reply to `messages`, each new piece of text passed to `on_delta` as it streams."""

    def describe_failure(self, error: Exception) -> str:
        return f"{type(error).__name__}: {error}"[:300]

    def _ask(self, messages, fallback: Callable[[], Draft], references, language, on_delta=None) -> Draft:
        def labelled(notice: str) -> Draft:
            draft = fallback()
            draft.provider, draft.model_name, draft.notice = self.name, self.model_name, notice
            return draft

        try:
            raw = self.complete(messages, on_delta=on_delta)
        except Exception as error:  # noqa: BLE001 - any failure of the model falls back, with the reason shown
            reason = self.describe_failure(error)
            logger.warning("%s answer failed (%s, model %s): %s; answered extractively",
                           self.name, type(error).__name__, self.model_name, reason)
            return labelled(notice_text(language, MODEL_FAILED, reason=reason))
        draft = ground(raw, references, provider=self.name, model_name=self.model_name)
        if draft is None:
            logger.info("%s answer cited no reference; answered extractively: %r", self.name, raw[:200])
            return labelled(notice_text(language, NO_VALID_CITATION))
        return draft

    def answer(self, question: str, references: list[Reference], *, language: str, nothing_fits: bool,
               on_delta: Callable[[str], None] | None = None) -> Draft:
        if nothing_fits or not references:
            # Nothing to ground an answer in: the honest "no answer", and no call.
            draft = extractive.compose(question, references, language=language, nothing_fits=True)
            draft.provider, draft.model_name = self.name, self.model_name
            return draft
        return self._ask(prompts.messages(question, references, language=language),
                         lambda: extractive.compose(question, references, language=language, nothing_fits=False),
                         references, language, on_delta)

    def analyse(self, topic: str, references: list[Reference], *, language: str) -> Draft:
        return self._ask(prompts.analysis_messages(topic, references, language=language),
                         lambda: extractive.analysis(references, language=language), references, language)
