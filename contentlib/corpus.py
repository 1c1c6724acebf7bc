"""Reads the demo corpus in fixtures/corpus: articles, near-duplicates, categories and judged queries."""
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings

CORPUS_DIR = settings.BASE_DIR / "fixtures" / "corpus"
_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)


@dataclass(frozen=True)
class CorpusArticle:
    id: str
    lang: str
    category: str
    title: str
    author: str
    published: dt.date
    kind: str
    keywords: list[str]
    body: str
    advertiser: str | None = None
    template_group: str | None = None
    duplicate_of: str | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class JudgedQuery:
    id: str
    lang: str
    query: str
    type: str
    relevant: dict[str, int] = field(default_factory=dict)
    answer: str = ""  # an AI-style answer written beside the query (the real-reader sets)


def _read_article(path: Path) -> CorpusArticle:
    match = _FRONT.match(path.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{path}: the file must start with front matter between '---' lines")
    meta = yaml.safe_load(match.group(1))
    published = meta["published"]
    if isinstance(published, str):
        published = dt.date.fromisoformat(published)
    return CorpusArticle(
        id=meta["id"], lang=meta["lang"], category=meta["category"], title=meta["title"].strip(),
        author=str(meta.get("author") or ""), published=published, kind=meta["kind"],
        keywords=[str(k) for k in meta.get("keywords") or []], body=match.group(2).strip(),
        advertiser=meta.get("advertiser") or None, template_group=meta.get("template_group") or None,
        duplicate_of=meta.get("duplicate_of") or None,
    )


def articles(root: Path = CORPUS_DIR) -> list[CorpusArticle]:
    return [_read_article(p) for p in sorted((root / "articles").glob("*.md"))]


def near_duplicates(root: Path = CORPUS_DIR) -> list[CorpusArticle]:
    return [_read_article(p) for p in sorted((root / "near_duplicates").glob("*.md"))]


def categories(root: Path = CORPUS_DIR) -> list[dict]:
    return yaml.safe_load((root / "categories.yaml").read_text(encoding="utf-8"))


def queries(root: Path = CORPUS_DIR) -> list[JudgedQuery]:
    out = []
    for path in sorted((root / "queries").glob("*.yaml")):
        out.extend(judged_queries(path))
    return out


def judged_queries(path: Path) -> list[JudgedQuery]:
    """The judged queries of one file in the corpus's format (docs/RELEVANCE.md)."""
    out = []
    for q in yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []:
        out.append(JudgedQuery(id=str(q["id"]), lang=q["lang"], query=str(q["query"]), type=q["type"],
                               relevant={k: int(v) for k, v in (q.get("relevant") or {}).items()},
                               answer=str(q.get("answer") or "").strip()))
    return out
