"""Blending a content-ranked list with co-occurrence neighbours: one function for every surface.

"Others are asking", "related searches" and "related articles" each start from a list ranked by
content (meaning and words) and the co-occurrence neighbours of what the reader is looking at. The
blended score of an item is

    (1 - w) · content + w · co-occurrence

each part scaled to 0..1 over the candidates (content by min-max, co-occurrence by log(1 + LLR)
over its maximum). Popularity is not part of it: it is the baseline the blend must beat, and in the
shuffled control (docs/RECOMMENDATION.md) it is what would make a blend look better than content
without any behaviour behind it. An item with little traffic
(fewer than COOCCURRENCE_MIN_READERS co-occurring readers) keeps the content list as it is: a few
readers' habits must not outrank meaning.

The weights per surface were chosen on the development split of generated sessions
(`manage.py recommend_eval --tune`) and live in recommender/blend_tuning.json.
"""
import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TUNING_FILE = Path(__file__).with_name("blend_tuning.json")
SURFACES = ("queries", "articles")  # queries: related searches, others are asking; articles: related articles


@dataclass(frozen=True)
class BlendWeights:
    cooccurrence: float = 0.5

    @property
    def content(self) -> float:
        return max(0.0, 1.0 - self.cooccurrence)


@lru_cache(maxsize=1)
def _tuned() -> dict:
    return json.loads(TUNING_FILE.read_text(encoding="utf-8")) if TUNING_FILE.exists() else {}


def weights_for(surface: str) -> BlendWeights:
    """The tuned weights of a surface (queries or articles); the defaults before any tuning."""
    values = _tuned().get("surfaces", {}).get(surface, {})
    return BlendWeights(cooccurrence=float(values.get("cooccurrence", 0.5)))


def _minmax(values: Mapping[Hashable, float]) -> dict:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high - low <= 1e-12:
        return {item: 1.0 for item in values}
    return {item: (value - low) / (high - low) for item, value in values.items()}


def _log_scaled(values: Mapping[Hashable, float]) -> dict:
    scaled = {item: math.log1p(max(0.0, value)) for item, value in values.items()}
    top = max(scaled.values(), default=0.0)
    return {item: value / top for item, value in scaled.items()} if top > 0 else {item: 0.0 for item in scaled}


def blend(content: Sequence[tuple[Hashable, float]], cooccurring: Sequence[tuple[Hashable, float]], *,
          weights: BlendWeights, little_traffic: bool, limit: int = 10) -> list[Hashable]:
    """Returns the blended list: items of the content list (item, content score), best first, and of
    the co-occurrence neighbours (item, LLR), ranked by the weighted sum; with little traffic, the
    content list as it is. The caller passes only items a reader may see in both lists."""
    if little_traffic or not cooccurring or weights.cooccurrence <= 0:
        return [item for item, _ in content[:limit]]
    content_part = _minmax(dict(content))
    co_part = _log_scaled(dict(cooccurring))
    candidates = list(dict.fromkeys([item for item, _ in content] + [item for item, _ in cooccurring]))
    order = {item: n for n, item in enumerate(candidates)}
    scored = {
        item: weights.content * content_part.get(item, 0.0) + weights.cooccurrence * co_part.get(item, 0.0)
        for item in candidates
    }
    return sorted(candidates, key=lambda item: (-scored[item], order[item]))[:limit]
