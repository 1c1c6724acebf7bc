"""Any OpenAI-compatible chat-completions API (DeepSeek, Qwen, Kimi, GLM, OpenAI, vLLM, Ollama …),
through the official `openai` client: its timeouts, its retries of connection errors, 408, 409, 429
and 5xx with exponential backoff (honouring Retry-After), and its server-sent-events streaming.

The answer is streamed; on top of the client's per-read timeout, the whole answer must arrive
within LLM_TIMEOUT_SECONDS. Any failure (the API unreachable after its retries, an error status,
malformed JSON, a stream cut short, an empty answer) gives the extractive answer with a notice that
says what went wrong.
"""
import time
from typing import Callable

from django.conf import settings

from recommender.answers.grounding import ModelProvider

NAME = "openai"


class AnswerTimeout(Exception):
    pass


class ChatAPIProvider(ModelProvider):
    name = NAME

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, model: str | None = None,
                 timeout: float | None = None, max_retries: int | None = None, max_tokens: int | None = None):
        import openai  # noqa: PLC0415 - only processes that call a model need the client

        self.model_name = model or settings.LLM_MODEL
        self.timeout = timeout if timeout is not None else settings.LLM_TIMEOUT_SECONDS
        self.max_tokens = max_tokens or settings.LLM_MAX_TOKENS
        self.client = openai.OpenAI(
            base_url=base_url or settings.LLM_BASE_URL,
            # Local servers (vLLM, Ollama) want no key, but the client insists on one.
            api_key=(api_key if api_key is not None else settings.LLM_API_KEY) or "no-key",
            timeout=self.timeout,
            max_retries=max_retries if max_retries is not None else settings.LLM_MAX_RETRIES,
        )

    def complete(self, messages: list[dict], *, on_delta: Callable[[str], None] | None = None) -> str:
        """The model's whole reply, streamed; raises the client's errors, or AnswerTimeout."""
        deadline = time.monotonic() + self.timeout
        stream = self.client.chat.completions.create(
            model=self.model_name, messages=messages, stream=True, temperature=0.2, max_tokens=self.max_tokens,
        )
        parts = []
        try:
            for chunk in stream:
                if time.monotonic() > deadline:
                    raise AnswerTimeout(f"the answer took longer than {self.timeout:g} s")
                for choice in chunk.choices or ():
                    delta = choice.delta.content if choice.delta is not None else None
                    if delta:
                        parts.append(delta)
                        if on_delta is not None:
                            on_delta(delta)
        finally:
            stream.close()
        return "".join(parts)

    def describe_failure(self, error: Exception) -> str:
        return describe_failure(error, timeout=self.timeout)


def describe_failure(error: Exception, *, timeout: float) -> str:
    """A short reason an operator can act on (shown in the notice and the log; never the key)."""
    import openai  # noqa: PLC0415

    if isinstance(error, AnswerTimeout | openai.APITimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, openai.RateLimitError):
        return "rate limited (HTTP 429) after retries"
    if isinstance(error, openai.AuthenticationError):
        return "the API key was refused (HTTP 401): check LLM_API_KEY"
    if isinstance(error, openai.NotFoundError):
        return "HTTP 404: check LLM_BASE_URL and LLM_MODEL"
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}"
    if isinstance(error, openai.APIConnectionError):
        return "the API could not be reached: check LLM_BASE_URL"
    if isinstance(error, ValueError | openai.APIResponseValidationError):
        return "the API sent a malformed reply"
    return f"{type(error).__name__}"
