"""Reads from the library, with the related rows each caller needs."""
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

import numpy as np

from contentlib.models import (Answer, AnswerReport, Article, ArticleKeyword, ArticleRevision, Membership,
                               ModerationEvent, Question)

_STATUS_ORDER = Case(
    When(status=Article.Status.PENDING, then=Value(0)),
    When(status=Article.Status.APPROVED, then=Value(1)),
    When(status=Article.Status.REJECTED, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def article_moderation_queue() -> QuerySet[Article]:
    """All articles for editors, pending first, then newest first within each status."""
    return (
        Article.objects.select_related("source", "category", "owner", "duplicate_of")
        .annotate(status_rank=_STATUS_ORDER)
        .order_by("status_rank", "-created_at", "-id")
    )


def article_published() -> QuerySet[Article]:
    """Articles readers may see: approved and not a duplicate of another."""
    return Article.objects.filter(status=Article.Status.APPROVED, duplicate_of__isnull=True)


def article_list_published(*, language: str | None = None, category_slug: str | None = None) -> QuerySet[Article]:
    articles = article_published().select_related("category", "source", "owner")
    if language:
        articles = articles.filter(language=language)
    if category_slug:
        articles = articles.filter(category__slug=category_slug)
    return articles.order_by("-published_at", "-id")


def article_get_published(*, article_id: int) -> Article | None:
    return article_published().select_related("category", "source", "owner").filter(id=article_id).first()


def article_keywords(*, article_id: int) -> list[ArticleKeyword]:
    return list(ArticleKeyword.objects.filter(article_id=article_id).select_related("keyword").order_by("rank"))


def article_moderation_history(*, article_id: int) -> QuerySet[ModerationEvent]:
    return ModerationEvent.objects.filter(article_id=article_id).select_related("actor")


_REVISION_ORDER = Case(
    When(status=ArticleRevision.Status.PENDING, then=Value(0)),
    default=Value(1),
    output_field=IntegerField(),
)


def article_revisions() -> QuerySet[ArticleRevision]:
    """Every revision for editors, pending first, then newest first."""
    return (
        ArticleRevision.objects.select_related("article", "decided_by")
        .annotate(status_rank=_REVISION_ORDER)
        .order_by("status_rank", "-created_at", "-id")
    )


def article_revision_pending(*, article_id: int) -> ArticleRevision | None:
    """The change to the article that waits for a decision, if any (there is at most one)."""
    return ArticleRevision.objects.filter(article_id=article_id, status=ArticleRevision.Status.PENDING).first()


def articles_missing_minhash() -> QuerySet[Article]:
    """Library articles whose MinHash is absent or was computed from other content."""
    return Article.objects.filter(Q(minhash__isnull=True) | ~Q(minhash__content_hash=F("content_hash"))).only(
        "id", "title", "text", "language", "content_hash"
    )


def article_references() -> QuerySet[Article]:
    """Articles an answer may cite: published, organic (no advertiser owns them) and not AI-generated."""
    return article_published().filter(owner__isnull=True).exclude(origin=Article.Origin.GENERATED)


def answer_current(*, question_id: int, provider: str, no_answer_ttl: timedelta) -> Answer | None:
    """The cached answer to reuse, if it is still good: current (or hidden or edited by an editor,
    which stays as the editor left it), every cited article still a reference with the text it had
    when cited, and, for a "no answer", younger than `no_answer_ttl`."""
    answer = (Answer.objects.filter(question_id=question_id, provider=provider,
                                    status__in=[Answer.Status.CURRENT, Answer.Status.HIDDEN])
              .order_by("-generated_at", "-id").first())
    if answer is None:
        return None
    if not answer.cited_article_ids:
        return answer if answer.generated_at >= timezone.now() - no_answer_ttl else None
    cited = {r.article_id: r.content_hash for r in answer.references.all()}
    if len(cited) != len(answer.cited_article_ids):
        return None  # a cited article was deleted
    still = dict(article_references().filter(id__in=list(cited)).values_list("id", "content_hash"))
    return answer if still == cited else None


def answer_references(*, answer: Answer) -> list[Article]:
    """The answer's cited articles in [n] order (an article deleted since is left out)."""
    rows = {a.id: a for a in Article.objects.filter(id__in=answer.cited_article_ids).select_related("source")}
    return [rows[i] for i in answer.cited_article_ids if i in rows]


# --- Questions on the site. A question is public (listed, in the sitemap, in "others are asking")
# once question_review published it; its asker sees it before that.

def question_public() -> QuerySet[Question]:
    return Question.objects.filter(status=Question.Status.PUBLISHED)


def question_get(*, slug: str) -> Question | None:
    return Question.objects.filter(slug=slug).first()


def questions_recent(*, limit: int = 10) -> list[Question]:
    return list(question_public().order_by("-created_at", "-id")[:limit])


def questions_popular(*, limit: int = 10) -> list[Question]:
    return list(question_public().order_by("-asked_count", "-created_at", "-id")[:limit])


def answer_reports_open() -> QuerySet[AnswerReport]:
    """The editors' queue of reported answers, oldest open report first."""
    return AnswerReport.objects.filter(status=AnswerReport.Status.OPEN).select_related(
        "answer", "answer__question").order_by("created_at", "id")


def _vector(blob) -> np.ndarray | None:
    if not blob:
        return None
    vector = np.frombuffer(bytes(blob), dtype="<f4")
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


def _ranked_by_cosine(target, candidates, *, k: int, min_score: float) -> list[tuple[int, float]]:
    """(id, cosine) of the `candidates` ((id, vector bytes) pairs) closest to `target`, best first."""
    query = _vector(target)
    if query is None:
        return []
    ids, rows = [], []
    for candidate_id, blob in candidates:
        vector = _vector(blob)
        if vector is not None and vector.shape == query.shape:
            ids.append(candidate_id)
            rows.append(vector)
    if not rows:
        return []
    scores = np.vstack(rows) @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [(ids[i], round(float(scores[i]), 6)) for i in order if scores[i] >= min_score]


# Similarity is the cosine of stored vectors (question vectors from retrieval, article passage
# vectors from enrichment) under the same model. Each returns ranked (id, score) pairs, so that a
# blend with what readers ask and read together (the keyword co-occurrence work) can rerank them.
# They read every candidate's vector: fine for the library's thousands, to move into the search
# index's vector search when it grows.
# e5's cosines are compressed: on the demo corpus unrelated questions score 0.84-0.86 and questions
# on one subject 0.88-0.92, so lists keep what scores above 0.86 (another EMBEDDING_MODEL needs its own).
SIMILAR_MIN_COSINE = 0.86

def questions_similar(*, question_id: int, k: int = 5,
                      min_score: float = SIMILAR_MIN_COSINE) -> list[tuple[int, float]]:
    """Published questions most like this one (not itself), as (question id, cosine), best first."""
    question = Question.objects.filter(id=question_id).only("vector", "vector_model").first()
    if question is None or not question.vector:
        return []
    return questions_near(vector=question.vector, vector_model=question.vector_model, k=k, min_score=min_score,
                          exclude_id=question_id)


def questions_near(*, vector: bytes, vector_model: str, k: int = 5, min_score: float = SIMILAR_MIN_COSINE,
                   exclude_id: int | None = None) -> list[tuple[int, float]]:
    """Published questions closest to a vector (a question's, or a host site's question's), best first."""
    candidates = question_public().filter(vector_model=vector_model).exclude(vector__isnull=True)
    if exclude_id is not None:
        candidates = candidates.exclude(id=exclude_id)
    return _ranked_by_cosine(vector, candidates.values_list("id", "vector"), k=k, min_score=min_score)


def articles_similar(*, article_id: int, k: int = 5,
                     min_score: float = SIMILAR_MIN_COSINE) -> list[tuple[int, float]]:
    """Published articles most like this one by content (not itself), as (article id, cosine), best first."""
    article = Article.objects.filter(id=article_id).only("embedding", "embedding_model").first()
    if article is None or not article.embedding:
        return []
    candidates = (article_published().exclude(id=article_id).filter(embedding_model=article.embedding_model)
                  .exclude(embedding__isnull=True).values_list("id", "embedding"))
    return _ranked_by_cosine(article.embedding, candidates, k=k, min_score=min_score)


def in_order(model_queryset: QuerySet, ranked: list[tuple[int, float]]) -> list:
    """The rows of `ranked` ((id, score) pairs) from `model_queryset`, in rank order (missing ones left out)."""
    rows = model_queryset.in_bulk([i for i, _ in ranked])
    return [rows[i] for i, _ in ranked if i in rows]


# --- What a reader may see of an article: the premium wall. Every surface that shows article text
# to readers (the article page, search snippets, and later the Q&A pages, answer excerpts, the widget
# and its API, sitemaps and structured data) calls article_visible_text and shows nothing else.

def membership_active(*, user) -> Membership | None:
    """The reader's membership if it has not lapsed; None for anonymous readers and lapsed members."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user_id=user.pk, until__gt=timezone.now()).first()


def reader_may_read_premium(*, user) -> bool:
    """Members read premium articles in full; so do staff, who moderate them."""
    if user is not None and getattr(user, "is_staff", False) and user.is_active:
        return True
    return membership_active(user=user) is not None


@dataclass(frozen=True)
class VisibleText:
    title: str
    summary: str
    paragraphs: list[str]
    full: bool  # False: `paragraphs` are not the whole text (the source's rule, the premium wall, or both)
    premium: bool
    walled: bool = False  # the premium wall stands after `paragraphs`: this reader is no member
    excerpt: bool = False  # the source allows only an excerpt: link to the original for the rest

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    def snippet(self, length: int = 160) -> str:
        """The summary, or else the visible text, cut to `length` characters: what a result list quotes."""
        source = self.summary or self.text
        return source if len(source) <= length else source[: length - 1].rstrip() + "…"


def article_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def premium_preview_paragraphs(count: int) -> int:
    """How many leading paragraphs of a premium article everyone may read: PREMIUM_PREVIEW_PARAGRAPHS,
    but never more than a third of the article, so a short report is not given away."""
    return min(settings.PREMIUM_PREVIEW_PARAGRAPHS, count // 3)


SOURCE_EXCERPT_PARAGRAPHS = 1  # what a source without full_text_allowed lets readers see: the opening paragraph


def article_full_text_allowed(article: Article) -> bool:
    """Whether the library may show the article's whole text to anyone: an enterprise's own article
    (owned or submitted) and the library's own (AI-generated, or added with no source) are full; a
    crawled or imported one only when its source has full_text_allowed (off by default)."""
    if article.owner_id is not None or article.origin in (Article.Origin.SUBMITTED, Article.Origin.GENERATED):
        return True
    return article.source_id is None or article.source.full_text_allowed


def article_visible_text(article: Article, *, user=None, may_read_premium: bool | None = None) -> VisibleText:
    """The part of `article` that `user` may read (None: an anonymous reader), by two rules at once:
    the source's (no full_text_allowed: the summary and the opening paragraph) and the premium wall
    (no membership: the title, the summary and the first paragraphs); either way the summary less
    any sentence it quotes from the part not shown. Answers, snippets, cards and the API quote what it returns for user=None.

    `may_read_premium` lets a list page ask reader_may_read_premium once for all its articles.
    """
    paragraphs = article_paragraphs(article.text)
    count = len(paragraphs)
    walled = False
    if article.premium:
        if may_read_premium is None:
            may_read_premium = reader_may_read_premium(user=user)
        walled = not may_read_premium
        if walled:
            count = premium_preview_paragraphs(len(paragraphs))
    excerpt = not article_full_text_allowed(article)
    if excerpt:
        count = min(count, SOURCE_EXCERPT_PARAGRAPHS)
    shown, hidden = paragraphs[:count], "\n".join(paragraphs[count:])
    # An extractive summary quotes the article's own sentences: behind the wall, and in a source's
    # excerpt (where a short article's summary would be all of it), it keeps only what is shown.
    summary = summary_without_hidden(article.summary, hidden) if hidden else article.summary
    return VisibleText(article.title, summary, shown, full=count >= len(paragraphs), premium=article.premium,
                       walled=walled, excerpt=excerpt and count < len(paragraphs))


def article_quotable_text(article: Article) -> str:
    """What an answer or an analysis may quote of the article: what an anonymous reader sees of it
    (the paragraphs shown, and the summary when the text is cut), the same for every reader."""
    visible = article_visible_text(article, user=None)
    if visible.full:
        return visible.text
    return "\n".join([visible.text, visible.summary]).strip()


_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)\s+|\n+")


def summary_without_hidden(summary: str, hidden: str) -> str:
    """The summary less any sentence it quotes from the hidden text.

    An extractive summary (recommender.summary) is made of the article's own sentences, and may pick
    a paid conclusion; a written or abstractive summary quotes nothing and stays whole.
    """
    kept = []
    for sentence in _SENTENCE_END.split(summary):
        core = sentence.strip().rstrip("…").strip()
        if not core:
            continue
        if len(core) >= 4 and core in hidden:
            continue
        kept.append(sentence.strip())
    joiner = "" if re.search(r"[\u4e00-\u9fff]", summary) else " "
    return joiner.join(kept)


def article_visible_keywords(article: Article, visible: VisibleText) -> list[ArticleKeyword]:
    """The article's keywords a reader may see: all of them with the full text; behind the wall only
    those that occur in what is shown, since keywords drawn from the hidden text would quote it."""
    keywords = article_keywords(article_id=article.id)
    if visible.full:
        return keywords
    shown = "\n".join([visible.title, visible.summary, visible.text]).lower()
    return [k for k in keywords if k.keyword.text.lower() in shown]
