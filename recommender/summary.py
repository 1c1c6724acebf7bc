"""Summaries: extractive by sentence centrality (TextRank-style) by default, or a configured seq2seq
model through `generate`, falling back to the extractive summary on any model error."""
import logging
import re
import threading

import numpy as np
from django.conf import settings

from recommender.text import segmenter

logger = logging.getLogger(__name__)

# The seed plan's 200字概要: at most this many characters, Chinese or English, whatever the input.
MAX_CHARS = 200
MAX_SENTENCES = 300  # centrality is quadratic in sentences; the lead of a long text is what matters
_ZH_SPLIT = re.compile(r"(?<=[。！？；!?;])")
_EN_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"“(])")
_SENTENCE_END = re.compile(r"[。！？；.!?;](?=\s|$)|[。！？；]")
_CLAUSE_END = re.compile(r"[，、：,:]")
ELLIPSIS = "…"


def sentences(text: str, language: str) -> list[str]:
    out = []
    for paragraph in (p.strip() for p in text.splitlines()):
        if not paragraph:
            continue
        pieces = _ZH_SPLIT.split(paragraph) if language == "zh" else _EN_SPLIT.split(paragraph)
        out.extend(s.strip() for s in pieces if len(s.strip()) >= 4)
    return out


def extractive(text: str, language: str) -> str:
    """Returns the most central sentences, in their original order, in at most MAX_CHARS characters."""
    found = sentences(text, language)[:MAX_SENTENCES]
    if not found:
        return ""
    if len(found) == 1:
        return fit(found[0], language)
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
    joiner = "" if language == "zh" else " "
    ranked = list(np.argsort(-rank))
    chosen, used = [], 0
    for i in ranked:  # the most central sentences that fit whole
        size = len(found[i]) + (len(joiner) if chosen else 0)
        if used + size > MAX_CHARS:
            continue
        chosen.append(i)
        used += size
        if used >= MAX_CHARS * 0.8:
            break
    if used < MAX_CHARS * 0.4:  # only short sentences fit: the most central one, cut, says more
        chosen = [ranked[0]]
    return fit(joiner.join(found[i] for i in sorted(chosen)), language)


def fit(summary: str, language: str) -> str:
    """Returns `summary` in at most MAX_CHARS characters, cut at the last sentence end that fits, else
    at a clause or word boundary (jieba's words for Chinese, spaces otherwise) with an ellipsis.

    Only text without any boundary in its second half (one enormous token) is cut mid-word.
    """
    summary = summary.strip()
    if len(summary) <= MAX_CHARS:
        return summary
    head = summary[: MAX_CHARS - len(ELLIPSIS)]
    floor = MAX_CHARS // 2  # a cut that keeps less than this is worse than a cut mid-word
    ends = [m.end() for m in _SENTENCE_END.finditer(summary[: MAX_CHARS + 1]) if floor <= m.end() <= MAX_CHARS]
    if ends:
        return summary[: ends[-1]].rstrip()
    clauses = [m.start() for m in _CLAUSE_END.finditer(head) if m.start() >= floor]
    if clauses:
        return head[: clauses[-1]].rstrip() + ELLIPSIS
    if language == "zh":
        words = segmenter().cut(head)[:-1]  # the last word may be cut in two
        kept = "".join(words).rstrip()
    else:
        kept = head[: head.rfind(" ")].rstrip() if " " in head else ""
    if len(kept) >= floor:
        return kept + ELLIPSIS
    return head + ELLIPSIS


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
            summary = fit(_model_summarizer().summarize(text), language)
            if summary:
                return summary, None
            error = "the summary model returned an empty summary"
        except Exception as exc:  # noqa: BLE001 - any model failure falls back, and is recorded
            error = f"summary model {settings.SUMMARY_MODEL!r} failed ({type(exc).__name__}: {exc})"
        logger.warning("%s; using the extractive summary", error)
        return extractive(text, language), error + "; used the extractive summary"
    return extractive(text, language), None
