"""Summaries: extractive by sentence centrality (TextRank-style) by default, or a configured seq2seq
model through `generate`, falling back to the extractive summary on any model error."""
import logging
import re
import threading

import numpy as np
from django.conf import settings

from recommender.text import segmenter

logger = logging.getLogger(__name__)

ZH_TARGET_CHARS = 200
EN_TARGET_WORDS = 60
MAX_SENTENCES = 300  # centrality is quadratic in sentences; the lead of a long text is what matters
_ZH_SPLIT = re.compile(r"(?<=[。！？；!?;])")
_EN_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"“(])")


def sentences(text: str, language: str) -> list[str]:
    out = []
    for paragraph in (p.strip() for p in text.splitlines()):
        if not paragraph:
            continue
        pieces = _ZH_SPLIT.split(paragraph) if language == "zh" else _EN_SPLIT.split(paragraph)
        out.extend(s.strip() for s in pieces if len(s.strip()) >= 4)
    return out


def _length(sentence: str, language: str) -> int:
    return len(sentence) if language == "zh" else len(sentence.split())


def extractive(text: str, language: str) -> str:
    """Returns the most central sentences, in their original order, up to ~200 characters or ~60 words."""
    found = sentences(text, language)[:MAX_SENTENCES]
    if not found:
        return ""
    if len(found) == 1:
        return _trim(found[0], language)
    seg = segmenter()
    bags = [set(seg.tokens(s)) for s in found]
    n = len(found)
    similarity = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if bags[i] and bags[j]:
                # TextRank's overlap normalized by sentence lengths (log to damp long sentences).
                overlap = len(bags[i] & bags[j])
                if overlap:
                    score = overlap / (np.log(len(bags[i]) + 1) + np.log(len(bags[j]) + 1))
                    similarity[i, j] = similarity[j, i] = score
    rows = similarity.sum(axis=1, keepdims=True)
    transition = np.divide(similarity, rows, out=np.full_like(similarity, 1.0 / n), where=rows > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(50):
        updated = 0.15 / n + 0.85 * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-6:
            rank = updated
            break
        rank = updated
    # A gentle lead bias: news puts the point first.
    rank = rank * (1.0 + 0.3 / (1.0 + np.arange(n)))
    target = ZH_TARGET_CHARS if language == "zh" else EN_TARGET_WORDS
    chosen, used = [], 0
    for i in np.argsort(-rank):
        size = _length(found[i], language)
        if chosen and used + size > target * 1.2:
            continue
        chosen.append(i)
        used += size
        if used >= target * 0.8:
            break
    joiner = "" if language == "zh" else " "
    return _trim(joiner.join(found[i] for i in sorted(chosen)), language)


def _trim(summary: str, language: str) -> str:
    if language == "zh":
        return summary if len(summary) <= ZH_TARGET_CHARS * 1.5 else summary[: ZH_TARGET_CHARS] + "…"
    words = summary.split()
    return summary if len(words) <= EN_TARGET_WORDS * 1.5 else " ".join(words[:EN_TARGET_WORDS]) + " …"


class Seq2SeqSummarizer:
    """A local seq2seq model (AutoModelForSeq2SeqLM + generate), loaded once per process."""

    def __init__(self, location: str):
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer  # noqa: PLC0415 - heavy, lazy

        self.location = location
        self.tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(location, local_files_only=True)
        self.model.eval()

    def summarize(self, text: str, *, max_new_tokens: int = 96) -> str:
        import torch  # noqa: PLC0415

        inputs = self.tokenizer(text, truncation=True, max_length=512, return_tensors="pt")
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, num_beams=2)
        return self.tokenizer.decode(output[0], skip_special_tokens=True).strip()


_summarizer: Seq2SeqSummarizer | None = None
_summarizer_location: str | None = None
_lock = threading.Lock()


def _model_summarizer() -> Seq2SeqSummarizer | None:
    global _summarizer, _summarizer_location
    location = settings.SUMMARY_MODEL
    if not location:
        return None
    with _lock:
        if _summarizer is None or _summarizer_location != location:
            _summarizer = Seq2SeqSummarizer(location)
            _summarizer_location = location
    return _summarizer


def summarize(text: str, language: str) -> tuple[str, str | None]:
    """Returns (summary, error). The error says why a configured model was not used."""
    if settings.SUMMARY_MODEL:
        try:
            summary = _model_summarizer().summarize(text)
            if summary:
                return summary, None
            error = "the summary model returned an empty summary"
        except Exception as exc:  # noqa: BLE001 - any model failure falls back, and is recorded
            error = f"summary model {settings.SUMMARY_MODEL!r} failed ({type(exc).__name__}: {exc})"
        logger.warning("%s; using the extractive summary", error)
        return extractive(text, language), error + "; used the extractive summary"
    return extractive(text, language), None
