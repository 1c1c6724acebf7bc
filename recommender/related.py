"""What readers see of co-occurrence: related searches, "others are asking" and related articles.

Each takes (or builds) a list ranked by content and blends it with the active co-occurrence model
(recommender/blend.py). Only what a reader may see ever comes out: published questions, and
approved articles that are not duplicates. A logged query is shown only as a published question
whose normalized text equals it, so that what readers typed is never shown as such.
"""
from collections.abc import Sequence

import numpy as np

from contentlib.models import Question
from contentlib.selectors import article_published
from contentlib.text import normalize_query
from recommender.blend import blend, weights_for
from recommender.cooccurrence import model_current
from recommender.embeddings import from_bytes

NEIGHBOURS = 50  # co-occurrence neighbours blended, as in the offline evaluation


def _published_questions(texts) -> dict[str, Question]:
    return {q.normalized_text: q for q in Question.objects.filter(status=Question.Status.PUBLISHED,
                                                                  normalized_text__in=list(texts))}


def questions_by_content(*, vector: np.ndarray | None, vector_model: str, exclude: str = "",
                         limit: int = NEIGHBOURS) -> list[tuple[Question, float]]:
    """Published questions closest in meaning to a query vector (cosine of the stored question
    vectors of the same model), best first; none without a vector."""
    if vector is None:
        return []
    rows = (Question.objects.filter(status=Question.Status.PUBLISHED, vector_model=vector_model)
            .exclude(vector=None).exclude(normalized_text=exclude))
    questions, vectors = [], []
    for question in rows:
        stored = from_bytes(question.vector)
        if stored is not None and len(stored) == len(vector):
            questions.append(question)
            vectors.append(stored)
    if not questions:
        return []
    scores = np.vstack(vectors) @ np.asarray(vector, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(questions[i], float(scores[i])) for i in order]


def questions_blend(*, query: str, content: Sequence[tuple[Question, float]], limit: int = 8) -> list[Question]:
    """Blends published questions ranked by content with the query's co-search neighbours that are
    published questions; with little traffic for the query, the content list alone."""
    normalized = normalize_query(query)
    model = model_current()
    neighbours = model.related_queries(normalized, limit=NEIGHBOURS) if model else []
    shown = _published_questions([n.item for n in neighbours])
    by_text = {q.normalized_text: q for q, _ in content if q.status == Question.Status.PUBLISHED}
    by_text.update(shown)
    by_text.pop(normalized, None)
    order = blend([(q.normalized_text, s) for q, s in content if q.normalized_text in by_text],
                  [(n.item, n.score) for n in neighbours if n.item in by_text],
                  weights=weights_for("queries"), little_traffic=model is None or model.little_traffic("qq", normalized),
                  limit=limit)
    return [by_text[text] for text in order]


def related_searches(*, query: str, vector: np.ndarray | None, vector_model: str, limit: int = 8) -> list[Question]:
    """Related searches for the search page: published questions, by meaning and by what readers who
    searched this also searched."""
    normalized = normalize_query(query)
    content = questions_by_content(vector=vector, vector_model=vector_model, exclude=normalized)
    return questions_blend(query=normalized, content=content, limit=limit)


def others_asking_blend(*, question: Question, content: Sequence[tuple[Question, float]], limit: int = 6) -> list[Question]:
    """"Others are asking" on a question page: the page's content-ranked questions blended with the
    questions asked or searched in the same sessions as this one."""
    return questions_blend(query=question.normalized_text, content=content, limit=limit)


def related_articles_blend(*, article_id: int, content: Sequence[tuple[int, float]], limit: int = 6) -> list[int]:
    """Related articles on an article page: the page's content-ranked (article id, score) list blended
    with the articles read in the same sessions; returns article ids, published ones only."""
    model = model_current()
    neighbours = model.related_articles(article_id, limit=NEIGHBOURS) if model else []
    wanted = {i for i, _ in content} | {n.item for n in neighbours}
    visible = set(article_published().filter(id__in=wanted).exclude(id=article_id).values_list("id", flat=True))
    return blend([(i, s) for i, s in content if i in visible], [(n.item, n.score) for n in neighbours if n.item in visible],
                 weights=weights_for("articles"),
                 little_traffic=model is None or model.little_traffic("aa", article_id), limit=limit)
