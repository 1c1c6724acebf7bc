"""The JSON API for other Q&A sites: `/api/v1/recommendations?q=…&answer=…`, the organic part (library
articles and published questions for the host's question and its AI answer), and, for a widget
placement (`placement=<slug>`), its sponsored cards; described by contentlib/site/openapi.yaml
(served at /api/v1/openapi.yaml) and shown on host pages by ads/static/ads/widget.js.

A widget request is answered only for a page whose Origin (else Referer) is one of its placement's
allowed domains: CORS allows that origin alone, its cards' impressions are recorded on that
placement, and each placement is rate-limited as a whole (WIDGET_RATE_LIMIT_PER_MINUTE) besides the
per-client limit. Cards are labelled 广告 / Sponsored with the advertiser named, as on the pages;
their click and beacon links are the same signed /c/ and /v/ tokens.

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
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from contentlib import readers, selectors
from contentlib.ratelimit import rate_limit_hit
from contentlib.services import QUESTION_MAX_CHARS

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
ANSWER_MAX_CHARS = 4000
ARTICLES = 5
QUESTIONS = 5
ANSWER_VECTOR_TTL = 24 * 3600


def _error(message: str, *, status: int, field: str | None = None, cors: dict | None = None,
           **headers) -> JsonResponse:
    response = JsonResponse({"error": message, **({"field": field} if field else {})}, status=status)
    for name, value in {**headers, **(cors or {})}.items():
        response[name] = value
    return response


def _widget(request, slug: str):
    """(the widget placement, its CORS headers, None) for an allowed host page, else (None, {}, the
    error response)."""
    from ads import widget  # noqa: PLC0415 - the site may import every package

    placement = widget.widget_placement_get(slug=slug)
    if placement is None:
        return None, {}, _error(_("There is no active widget placement called “%(slug)s”. Use the placement name "
                                  "the library gave your site, or leave placement out for organic results only.")
                                % {"slug": slug}, status=404, field="placement")
    origin = widget.request_origin(request)
    if not widget.widget_origin_allowed(placement=placement, origin=origin):
        return None, {}, _error(_("The widget placement “%(slug)s” may not be shown on %(origin)s. Ask the library "
                                  "to add this domain to the placement's allowed domains.")
                                % {"slug": slug, "origin": origin or _("a page of unknown origin")},
                                status=403, field="placement")
    return placement, {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}, None


def _sponsored_items(request, block) -> list[dict]:
    if block is None:
        return []
    return [{"label": "sponsored", "label_text": _("Sponsored"), "advertiser": card.advertiser_name,
             "title": card.title, "summary": card.summary, "position": card.position,
             "click_url": request.build_absolute_uri(card.click_url),
             "beacon_url": request.build_absolute_uri(card.beacon_url)} for card in block.cards]


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
        "label_text": (_("Enterprise article") if article.owner_id
                       else (_("AI-generated") if article.origin == "generated" else None)),
        "full_text": visible.full,
        "score": round(float(score), 6),
    }


@csrf_exempt  # GET only, no session: any other method is a 405 as the description says, not a CSRF 403
@require_GET
def recommendations(request):
    """Organic recommendations for a host site's question and (optionally) its AI answer."""
    from recommender.embeddings import to_bytes  # noqa: PLC0415 - the site may import every package
    from recommender.retrieval import retrieve  # noqa: PLC0415

    from ads import sponsored  # noqa: PLC0415

    raw_question, raw_answer = request.GET.get("q", ""), request.GET.get("answer", "")
    question = " ".join(raw_question.split())
    answer = raw_answer.strip()
    slug = request.GET.get("placement", "").strip()
    placement, cors = None, {}
    if slug:
        placement, cors, refused = _widget(request, slug)
        if refused is not None:
            return refused
    if not question:
        return _error(_("The q parameter is missing or empty. Pass the reader's question as q."), status=400,
                      field="q", cors=cors)
    # The limits hold for the parameters as sent (openapi.yaml's maxLength), spaces included.
    if len(raw_question) > QUESTION_MAX_CHARS:
        return _error(_("The q parameter is %(length)d characters long; at most %(max)d are accepted. Send a "
                        "shorter question.") % {"length": len(raw_question), "max": QUESTION_MAX_CHARS},
                      status=400, field="q", cors=cors)
    if len(raw_answer) > ANSWER_MAX_CHARS:
        return _error(_("The answer parameter is %(length)d characters long; at most %(max)d are accepted. Send "
                        "the answer's first %(max)d characters.") % {"length": len(raw_answer), "max": ANSWER_MAX_CHARS},
                      status=400, field="answer", cors=cors)
    limit = rate_limit_hit(scope="api", client=readers.rate_limit_client(request),
                           limit=settings.API_RATE_LIMIT_PER_MINUTE)
    if limit.allowed and placement is not None:
        # The placement as a whole: each request may embed a new answer text, whoever sends it.
        limit = rate_limit_hit(scope="api-widget", client=placement.slug, limit=settings.WIDGET_RATE_LIMIT_PER_MINUTE)
        if not limit.allowed:
            return _error(_("Too many requests: at most %(limit)d a minute for the widget placement “%(slug)s”. "
                            "Retry after %(seconds)d seconds, or ask the library for a higher limit.")
                          % {"limit": limit.limit, "slug": placement.slug, "seconds": limit.retry_after_seconds},
                          status=429, cors=cors, **{"Retry-After": str(limit.retry_after_seconds)})
    if not limit.allowed:
        return _error(_("Too many requests: at most %(limit)d a minute from one client. Retry after %(seconds)d "
                        "seconds.") % {"limit": limit.limit, "seconds": limit.retry_after_seconds},
                      status=429, cors=cors, **{"Retry-After": str(limit.retry_after_seconds)})
    vector = answer_vector(answer) if answer else None
    # The host's answer is its own model's prose, not quoted from the library: a written answer.
    result = retrieve(question, answer=answer, answer_vector=vector, answer_kind="written", k=ARTICLES * 2)
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
    body = {"query": question, "nothing_fits": bool(result.nothing_fits), "articles": articles, "questions": questions}
    if placement is not None:
        # The host's answer cites none of the library's articles, so no reference is at stake; an
        # enterprise article sold in a card is not listed again among the organic ones.
        block = sponsored.sponsored_block(request, placement=placement.slug, question=question, answer_text=answer,
                                          question_vector=result.query_vector, answer_vector=vector)
        body["sponsored"] = _sponsored_items(request, block)
        sold = {card.article_id for card in block.cards} if block else set()
        body["articles"] = [a for a in articles if a["id"] not in sold]
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    for name, value in cors.items():
        response[name] = value
    return response


@require_GET
def openapi_description(request):
    return HttpResponse(OPENAPI_FILE.read_bytes(), content_type="application/yaml; charset=utf-8")
