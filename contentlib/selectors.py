"""Reads from the library, with the related rows each caller needs."""
from datetime import timedelta

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from contentlib.models import Answer, Article, ArticleKeyword, ArticleRevision, ModerationEvent

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
