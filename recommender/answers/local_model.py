"""A local causal language model from a directory (LLM_MODEL), for on-premise use: transformers'
AutoModelForCausalLM + generate on the CPU, loaded once per process on first use (never at start-up).

The prompt is the model's chat template when its tokenizer has one, else the same messages as plain
text. Its output goes through the same grounding as an API model's: citations of no reference are
removed, and without a valid one, or when the model cannot be loaded or fails, the answer is the
extractive one with a notice.
"""
import logging
import threading
from typing import Callable

from django.conf import settings

from recommender.answers.grounding import ModelProvider

logger = logging.getLogger(__name__)

NAME = "transformers"
PROMPT_MAX_TOKENS = 3072  # the prompt's head is kept (the instructions and the best references)

_models: dict[str, tuple[object, object]] = {}
_lock = threading.Lock()


def load(location: str) -> tuple[object, object]:
    """(tokenizer, model) from a local directory, once per process; nothing is downloaded."""
    with _lock:
        if location not in _models:
            from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415 - heavy, lazy

            tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(location, local_files_only=True)
            model.eval()
            _models[location] = (tokenizer, model)
            logger.info("loaded answer model %s", location)
    return _models[location]


def prompt_text(tokenizer, messages: list[dict]) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n\n".join(m["content"] for m in messages) + "\n\n"


class LocalModelProvider(ModelProvider):
    name = NAME

    def __init__(self, location: str | None = None, *, max_new_tokens: int | None = None):
        self.location = location or settings.LLM_MODEL
        self.model_name = self.location
        self.max_new_tokens = max_new_tokens or settings.LLM_MAX_TOKENS

    def complete(self, messages: list[dict], *, on_delta: Callable[[str], None] | None = None) -> str:
        import torch  # noqa: PLC0415

        tokenizer, model = load(self.location)
        inputs = tokenizer(prompt_text(tokenizer, messages), return_tensors="pt", truncation=True,
                           max_length=PROMPT_MAX_TOKENS)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad)
        text = tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        if on_delta is not None:
            on_delta(text)
        return text

    def describe_failure(self, error: Exception) -> str:
        return f"the model at LLM_MODEL={self.location!r} failed: {type(error).__name__}: {error}"[:300]
