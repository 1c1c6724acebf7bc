"""AI answers grounded in the library: providers behind one interface (`base.Provider`), chosen by
LLM_PROVIDER, and the one service that answers a reader's question (`services.answer_question`)."""
from django.conf import settings


def provider_get(name: str | None = None):
    """The provider LLM_PROVIDER names (or `name`): extractive, openai or transformers."""
    name = name or settings.LLM_PROVIDER
    if name == "extractive":
        from recommender.answers.extractive import ExtractiveProvider  # noqa: PLC0415

        return ExtractiveProvider()
    if name == "openai":
        from recommender.answers.chat_api import ChatAPIProvider  # noqa: PLC0415

        return ChatAPIProvider()
    if name == "transformers":
        from recommender.answers.local_model import LocalModelProvider  # noqa: PLC0415

        return LocalModelProvider()
    raise ValueError(f"LLM_PROVIDER={name!r} is not a provider; use extractive, openai or transformers.")


def answer_kind(*, provider: str, notice: str = "") -> str:
    """Which of retrieval's answer kinds (`recommender.retrieval.ANSWER_KINDS`) an answer is, for
    `retrieve(answer=..., answer_kind=...)`: "extractive" for the extractive provider's and for a
    model's answer replaced by the extractive one (it carries the notice saying so), else "written"."""
    return "extractive" if provider == "extractive" or notice else "written"
