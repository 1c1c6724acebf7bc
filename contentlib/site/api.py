"""The JSON API for other Q&A sites: `/api/v1/recommendations?q=…&answer=…`, the organic part (library
articles and published questions for the host's question and its AI answer), described by
contentlib/site/openapi.yaml (served at /api/v1/openapi.yaml). The sponsored part and the widget's
placements, CORS and event tracking are added beside it by the ads work.

Every article is quoted as an anonymous reader may see it (article_visible_text): the source's
full-text rule and the premium wall hold here as on the pages. An enterprise's article is labelled
with its company. The host's answer is embedded once per distinct text: its vector is cached under
a hash of the text.
"""
import hashlib
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contentlib import readers, selectors
from contentlib.ratelimit import rate_limit_hit
from contentlib.services import QUESTION_MAX_CHARS

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
ANSWER_MAX_CHARS = 4000
ARTICLES = 5
QUESTIONS = 5
ANSWER_VECTOR_TTL = 24 * 3600


def _error(message: str, *, status: int, field: str | None = None, **headers) -> JsonResponse:
    response = JsonResponse({"error": message, **({"field": field} if field else {})}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def answer_vector(text: str):
    """The host answer's vector, encoded once per distinct text (cached by its SHA-256 and the model)."""
    from recommender.embeddings import encode_query, from_bytes, model_name, to_bytes  # noqa: PLC0415

    model = model_name()
    digest = hashlib.sha256("\x1f".join([model, text]).encode("utf-8")).hexdigest()
    key = f"answer-vector:{digest}"
    stored = cache.get(key)
    if stored is not None:
        return from_bytes(stored)
    vector = encode_query(text)
    cache.set(key, to_bytes(vector), timeout=ANSWER_VECTOR_TTL)
    return vector


def _article_item(request, article, score: float) -> dict:
    visible = selectors.article_visible_text(article, user=None)
    return {
        "id": article.id,
        "title": visible.title,
        "url": request.build_absolute_uri(reverse("site:article_detail", args=[article.id])),
        "source": article.source.name if article.source_id else None,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "snippet": visible.snippet(),
        "label": "enterprise" if article.owner_id else ("ai_generated" if article.origin == "generated" else None),
        "company": article.owner.name if article.owner_id else None,
        "full_text": visible.full,
        "score": round(float(score), 6),
    }


@require_GET
def recommendations(request):
    """Organic recommendations for a host site's question and (optionally) its AI answer."""
    from recommender.embeddings import to_bytes  # noqa: PLC0415 - the site may import every package
    from recommender.retrieval import retrieve  # noqa: PLC0415

    question = " ".join(request.GET.get("q", "").split())
    answer = request.GET.get("answer", "").strip()
    if not question:
        return _error(_("The q parameter is missing or empty. Pass the reader's question as q."), status=400,
                      field="q")
    if len(question) > QUESTION_MAX_CHARS:
        return _error(_("The q parameter is %(length)d characters long; at most %(max)d are accepted. Send a "
                        "shorter question.") % {"length": len(question), "max": QUESTION_MAX_CHARS},
                      status=400, field="q")
    if len(answer) > ANSWER_MAX_CHARS:
        return _error(_("The answer parameter is %(length)d characters long; at most %(max)d are accepted. Send "
                        "the answer's first %(max)d characters.") % {"length": len(answer), "max": ANSWER_MAX_CHARS},
                      status=400, field="answer")
    limit = rate_limit_hit(scope="api", client=readers.rate_limit_client(request),
                           limit=settings.API_RATE_LIMIT_PER_MINUTE)
    if not limit.allowed:
        return _error(_("Too many requests: at most %(limit)d a minute from one client. Retry after %(seconds)d "
                        "seconds.") % {"limit": limit.limit, "seconds": limit.retry_after_seconds},
                      status=429, **{"Retry-After": str(limit.retry_after_seconds)})
    result = retrieve(question, answer=answer, answer_vector=answer_vector(answer) if answer else None, k=ARTICLES * 2)
    articles = []
    if not result.nothing_fits:
        rows = selectors.article_published().select_related("source", "owner").in_bulk([h.id for h in result.hits])
        articles = [_article_item(request, rows[h.id], h.score) for h in result.hits if h.id in rows][:ARTICLES]
    questions = []
    if result.query_vector is not None:
        from recommender.embeddings import model_name  # noqa: PLC0415

        ranked = selectors.questions_near(vector=to_bytes(result.query_vector), vector_model=model_name(),
                                          k=QUESTIONS)
        for q in selectors.in_order(selectors.question_public(), ranked):
            score = dict(ranked)[q.id]
            questions.append({"text": q.text, "score": score,
                              "url": request.build_absolute_uri(reverse("site:question_detail", args=[q.slug]))})
    return JsonResponse({"query": question, "nothing_fits": bool(result.nothing_fits), "articles": articles,
                         "questions": questions}, json_dumps_params={"ensure_ascii": False})


@require_GET
def openapi_description(request):
    return HttpResponse(OPENAPI_FILE.read_bytes(), content_type="application/yaml; charset=utf-8")
