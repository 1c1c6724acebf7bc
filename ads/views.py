"""The sponsored block's two endpoints: the click redirect (/c/<token>) and the viewability beacon
(/v/<token>). Thin: read the token (ads.tracking) and the traffic (ads.traffic), record through
ads.events, answer. Neither sets a cookie of its own: no tracking cookie exists."""
from django.http import HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ads import events, tracking, traffic
from ads.models import BILLING_REASONS
from recommender.activity import activity_record

# Beacon answers: what the server made of it (sendBeacon ignores them; tests and logs read them).
BEACON_STATUS = {"accepted": 202, "duplicate": 409, "too_early": 425, "invalid": 202, "unknown": 404}


@never_cache
@require_GET
def click(request, token: str):
    """Records the click with its reason, bills it when everything allows, and always redirects:
    to the promotion's verified landing URL or the sponsored article's page, never a URL taken
    from the request. Staff see the click's reason in the X-Click-Reason header."""
    now = timezone.now()
    claim = tracking.click_token_read(token, now=now)
    if claim.problem:
        reason, agent = traffic.request_reason(request)
    else:
        reason, agent = traffic.click_reason(request, served_at=claim.served_at, served_agent=claim.agent, at=now)
    visitor = traffic.visitor_make(request, reason=reason, agent=agent)
    outcome = events.click_record(impression_id=claim.impression_id, visitor=visitor, token_problem=claim.problem,
                                  at=now)
    # A person's click (valid traffic; unbilled only because the money ran out) goes into the reader
    # activity log, as the site's pages log what readers do.
    if not claim.problem and not visitor.invalid_reason and (not outcome.reason or outcome.reason in BILLING_REASONS):
        activity_record(kind="sponsored_click", reader_key=visitor.reader_key, placement="sponsored",
                        article_id=outcome.article_id)
    response = HttpResponseRedirect(tracking.click_destination(outcome=outcome, token_problem=claim.problem))
    if request.user.is_authenticated and request.user.is_staff:
        response["X-Click-Reason"] = outcome.reason or ("billed" if outcome.billed else "valid")
    return response


@csrf_exempt  # sent by navigator.sendBeacon, which carries no CSRF token: the signed token authenticates it
@never_cache
@require_POST
def beacon(request, token: str):
    """Marks the token's impression viewable (at least half the card in view for a continuous
    second, measured by ads/static/ads/sponsored.js): accepted once, for a served impression, and
    not sooner than a second after serving."""
    impression_id, problem = tracking.beacon_token_read(token)
    if problem:
        return JsonResponse({"result": problem}, status=400)
    result = events.viewable_record(impression_id=impression_id, at=timezone.now())
    return JsonResponse({"result": result}, status=BEACON_STATUS.get(result, 200))
