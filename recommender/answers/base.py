"""What crosses the provider interface: the numbered references going in, the draft coming out."""
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class Reference:
    """One candidate reference: an organic library article as retrieval ranked it (best first)."""

    id: int
    title: str
    text: str  # the published text: what every citation is checked against
    language: str
    score: float = 0.0  # the fused retrieval score
    vector: np.ndarray | None = None  # the article's stored passage vector
    url: str = ""


@dataclass
class Draft:
    """A provider's answer: text with [n] markers, reference n being `cited[n - 1]` (an article id)."""

    text: str
    cited: list[int] = field(default_factory=list)
    provider: str = ""
    model_name: str = ""
    notice: str = ""  # shown with the answer: why it is not what the configured provider wrote

    @property
    def no_answer(self) -> bool:
        return not self.cited


class Provider(Protocol):
    name: str
    model_name: str

    def answer(self, question: str, references: list[Reference], *, language: str, nothing_fits: bool,
               on_delta: Callable[[str], None] | None = None) -> Draft:
        """Answers from `references` only; never raises for a model failure (falls back, with a notice)."""
