import math

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contentlib import readers, selectors
from contentlib.models import Category
from contentlib.ratelimit import rate_limit_hit
from contentlib.site.activity import activity_log


def article_list(request):
    language = request.GET.get("lang") or None
    category = request.GET.get("category") or None
    articles = selectors.article_list_published(language=language, category_slug=category)
    page = Paginator(articles, 20).get_page(request.GET.get("page"))
    return render(request, "site/article_list.html", {
        "page": page, "items": _with_visible_text(request, page), "language": language, "category": category,
        "categories": Category.objects.all(),
    })


def _with_visible_text(request, articles):
    """(article, what this reader may see of it) for a result list: the premium wall decides the snippet."""
    may_read_premium = selectors.reader_may_read_premium(user=request.user)
    return [(article, selectors.article_visible_text(article, user=request.user, may_read_premium=may_read_premium))
            for article in articles]


def article_detail(request, article_id: int):
    article = selectors.article_get_published(article_id=article_id)
    if article is None:
        raise Http404("This article does not exist or is not published.")
    visible = selectors.article_visible_text(article, user=request.user)
    activity_log(request, kind="article_view", placement="article", article_id=article.id)
    return render(request, "site/article_detail.html", {
        "article": article, "visible": visible, "keywords": selectors.article_visible_keywords(article, visible),
    })


def search(request):
    """Readers' search over published articles; says so plainly when nothing in the library fits."""
    from recommender.retrieval import retrieve  # noqa: PLC0415 - the site may import every package

    query = request.GET.get("q", "").strip()[:500]
    if query:
        limit = rate_limit_hit(scope="search", client=readers.rate_limit_client(request),
                               limit=settings.SEARCH_RATE_LIMIT_PER_MINUTE)
        if not limit.allowed:
            return too_many_requests(request, retry_after=limit.retry_after_seconds, message=ngettext(
                "You have searched %(limit)d time in the last minute, the most we allow. "
                "Wait %(seconds)d seconds, then search again.",
                "You have searched %(limit)d times in the last minute, the most we allow. "
                "Wait %(seconds)d seconds, then search again.",
                limit.limit) % {"limit": limit.limit, "seconds": limit.retry_after_seconds})
    result = retrieve(query, k=10) if query else None
    if query and request.GET.get("page", "1") == "1":  # one search, however many pages the reader turns
        activity_log(request, kind="search", placement="search", query=query)
    articles = []
    if result is not None and not result.nothing_fits:
        by_id = {a.id: a for a in selectors.article_published().select_related("category").filter(
            id__in=[h.id for h in result.hits])}
        articles = [by_id[h.id] for h in result.hits if h.id in by_id]
    return render(request, "site/search.html", {"query": query, "result": result,
                                                "items": _with_visible_text(request, articles),
                                                "related_searches": _related_searches(query, result)})


def _related_searches(query: str, result) -> list:
    """Published questions readers who searched this also searched, or close in meaning (docs/RECOMMENDATION.md)."""
    if not query:
        return []
    from recommender.embeddings import model_name  # noqa: PLC0415 - the site may import every package
    from recommender.related import related_searches  # noqa: PLC0415

    return related_searches(query=query, vector=result.query_vector if result else None, vector_model=model_name())


def too_many_requests(request, *, retry_after: int, message: str):
    """A 429 in the site's layout and the reader's language, with Retry-After."""
    response = render(request, "site/notice.html", {"heading": _("Please slow down"), "message": message},
                      status=429)
    response["Retry-After"] = str(retry_after)
    return response


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' response once a client failed to sign in too often (AXES_LOCKOUT_CALLABLE)."""
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "site/locked_out.html", {"lockout_minutes": minutes}, status=429)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
