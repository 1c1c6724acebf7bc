"""The judged set of sponsored relevance (fixtures/sponsored, format in docs/SPONSORED_RELEVANCE.md):
its campaigns, promoted articles and judged questions, and the fixed dev/test split of the questions.

The split is made once, deterministically, and committed in `sponsored_split.json` before any floor
or weight was tuned: within each (language, question type) stratum the questions are ordered by a
hash of their id and dealt alternately to dev and test (as recommender.search.split deals the
search queries).
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings

from contentlib import corpus
from recommender.search.split import split_make

SPONSORED_DIR = settings.BASE_DIR / "fixtures" / "sponsored"
SPLIT_FILE = Path(__file__).with_name("sponsored_split.json")
TYPES = ("fit", "no_fit", "keyword_trap")


@dataclass(frozen=True)
class JudgedKeyword:
    text: str
    match: str
    bid: str | None = None


@dataclass(frozen=True)
class JudgedCampaign:
    id: str
    advertiser: str
    name: str
    pricing: str
    bid: str
    daily_budget: str
    language: str  # zh | en | any
    categories: list[str]
    promotes: list[str]
    keywords: list[JudgedKeyword]
    negatives: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JudgedQuestion:
    id: str
    lang: str
    question: str
    type: str
    fits: dict[str, int]
    note: str = ""


@dataclass
class JudgedSet:
    campaigns: list[JudgedCampaign]
    questions: list[JudgedQuestion]
    articles: dict[str, corpus.CorpusArticle]  # every promoted article, by id


def campaigns_read(path: Path) -> list[JudgedCampaign]:
    out = []
    for row in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []:
        out.append(JudgedCampaign(
            id=str(row["id"]), advertiser=str(row["advertiser"]), name=str(row["name"]), pricing=row["pricing"],
            bid=str(row["bid"]), daily_budget=str(row.get("daily_budget") or "1000.00"),
            language=str(row.get("language") or "any"), categories=[str(c) for c in row.get("categories") or []],
            promotes=[str(a) for a in row["promotes"]],
            keywords=[JudgedKeyword(text=str(k["text"]), match=k.get("match", "phrase"),
                                    bid=str(k["bid"]) if k.get("bid") else None) for k in row.get("keywords") or []],
            negatives=[str(n) for n in row.get("negatives") or []],
        ))
    return out


def questions_read(path: Path) -> list[JudgedQuestion]:
    out = []
    for row in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []:
        if row["type"] not in TYPES:
            raise ValueError(f"{path}: question {row['id']} has type {row['type']!r}; use one of {', '.join(TYPES)}")
        out.append(JudgedQuestion(id=str(row["id"]), lang=row["lang"], question=str(row["question"]), type=row["type"],
                                  fits={str(k): int(v) for k, v in (row.get("fits") or {}).items()},
                                  note=str(row.get("note") or "")))
    return out


def judged_set(directory: Path = SPONSORED_DIR, *, questions: Path | None = None) -> JudgedSet:
    """The campaigns and questions of `directory` (or the questions of another file), with the
    promoted articles from its articles/ folder and the demo corpus."""
    campaigns = campaigns_read(Path(directory) / "campaigns.yaml")
    judged = questions_read(questions or Path(directory) / "questions.yaml")
    articles = {a.id: a for a in corpus.articles()}
    articles.update({a.id: a for a in corpus.articles(Path(directory))})
    wanted = {a for c in campaigns for a in c.promotes}
    missing = sorted(wanted - articles.keys())
    if missing:
        raise ValueError(f"Promoted articles not found in {directory}/articles or the corpus: {', '.join(missing)}")
    return JudgedSet(campaigns=campaigns, questions=judged, articles={i: articles[i] for i in sorted(wanted)})


def split_from_questions(questions: list[JudgedQuestion]) -> dict[str, list[str]]:
    strata: dict[tuple[str, str], list[str]] = {}
    for q in questions:
        strata.setdefault((q.lang, q.type), []).append(q.id)
    return split_make(strata)


def split_load() -> dict[str, list[str]]:
    return json.loads(SPLIT_FILE.read_text(encoding="utf-8"))


def questions_of(questions: list[JudgedQuestion], half: str) -> list[JudgedQuestion]:
    """The questions of the committed "dev" or "test" half; "all" for every one. A set from elsewhere
    (`--judgments`), whose ids the split does not know, is all test."""
    if half == "all":
        return questions
    split = split_load()
    known = set(split["dev"]) | set(split["test"])
    if not any(q.id in known for q in questions):
        return questions if half == "test" else []
    return [q for q in questions if q.id in set(split[half])]
