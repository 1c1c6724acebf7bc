import math
import re

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ads import sponsored  # the site may import every package
from contentlib import readers, selectors
from contentlib.models import Category
from contentlib.ratelimit import rate_limit_hit
from contentlib.site.activity import activity_log


def home(request):
    """The readers' home: the ask/search box, recent and popular questions, categories, new articles."""
    articles = selectors.article_list_published()[:10]
    popular = selectors.questions_popular(limit=8)
    return render(request, "site/home.html", {
        "recent": selectors.questions_recent(limit=8), "popular": popular,
        "categories": Category.objects.all(), "items": _with_visible_text(request, articles),
        "sponsored": sponsored.sponsored_for_home(request, popular=popular),
    })


def article_list(request):
    language = request.GET.get("lang") or None
    category = request.GET.get("category") or None
    articles = selectors.article_list_published(language=language, category_slug=category)
    page = Paginator(articles, 20).get_page(request.GET.get("page"))
    categories = list(Category.objects.all())
    filtered = next((c for c in categories if c.slug == category), None)
    return render(request, "site/article_list.html", {
        "page": page, "items": _with_visible_text(request, page), "language": language, "category": category,
        "categories": categories,
        "sponsored": sponsored.sponsored_for_article_list(request, articles=page.object_list, category=filtered),
    })


def _with_visible_text(request, articles):
    """(article, what this reader may see of it) for a result list: the premium wall decides the snippet."""
    may_read_premium = selectors.reader_may_read_premium(user=request.user)
    return [(article, selectors.article_visible_text(article, user=request.user, may_read_premium=may_read_premium))
            for article in articles]


def article_detail(request, article_id: int):
    from contentlib.site.questions import article_related  # noqa: PLC0415

    article = selectors.article_get_published(article_id=article_id)
    if article is None:
        raise Http404("This article does not exist or is not published.")
    visible = selectors.article_visible_text(article, user=request.user)
    activity_log(request, kind="article_view", placement="article", article_id=article.id)
    return render(request, "site/article_detail.html", {
        "article": article, "visible": visible, "keywords": selectors.article_visible_keywords(article, visible),
        "related": article_related(article),
        "canonical": request.build_absolute_uri(reverse("site:article_detail", args=[article.id])),
        "sponsored": sponsored.sponsored_for_article(request, article=article),
    })


SEARCH_RESULTS = 50  # retrieved once per search; paged 10 at a time
SEARCH_PAGE_SIZE = 10


def highlight(text: str, terms: list[str]):
    """`text`, escaped, with each occurrence of a search term marked (<mark>), case-insensitively."""
    terms = sorted({t for t in terms if len(t) >= 2}, key=len, reverse=True)
    if not terms or not text:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))


def search(request):
    """Readers' search over published articles: a count, pages of ten, the query's words marked; says
    so plainly when nothing in the library fits."""
    from recommender.retrieval import retrieve  # noqa: PLC0415 - the site may import every package
    from recommender.text import tokenize  # noqa: PLC0415

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
    result = retrieve(query, k=SEARCH_RESULTS) if query else None
    if query and request.GET.get("page", "1") == "1":  # one search, however many pages the reader turns
        activity_log(request, kind="search", placement="search", query=query)
    articles = []
    if result is not None and not result.nothing_fits:
        by_id = {a.id: a for a in selectors.article_published().select_related("category", "source", "owner").filter(
            id__in=[h.id for h in result.hits])}
        articles = [by_id[h.id] for h in result.hits if h.id in by_id]
    page = Paginator(articles, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    terms = tokenize(query) if articles else []
    items = [(article, visible, highlight(visible.title, terms), highlight(visible.snippet(), terms))
             for article, visible in _with_visible_text(request, page)]
    return render(request, "site/search.html", {
        "query": query, "result": result, "items": items, "page": page, "count": len(articles),
        "sponsored": sponsored.sponsored_for_search(request, query=query, result=result),
        "related_searches": _related_searches(query, result),
    })


def _related_searches(query: str, result) -> list:
    """Published questions readers who searched this also searched, or close in meaning (docs/RECOMMENDATION.md)."""
    if not query:
        return []
    from recommender.embeddings import model_name  # noqa: PLC0415 - the site may import every package
    from recommender.related import related_searches  # noqa: PLC0415

    return related_searches(query=query, vector=getattr(result, "query_vector", None), vector_model=model_name())


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


def robots_txt(request):
    """Crawlers may read the site except the admin, the portal and the Ask pages; the sitemap is named."""
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /portal/", "Disallow: /ask/", "Disallow: /search/",
             f"Sitemap: {request.build_absolute_uri(reverse('site:sitemap'))}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
