"""The conversion endpoints advertisers call: an image pixel for their thank-you page and a
server-to-server postback. Thin: parse, call ads.conversions, answer."""
import base64
import json

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ads import conversions
from ads.models import Conversion
from contentlib.errors import ApplicationError
from contentlib.readers import rate_limit_client

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _report(data) -> conversions.Report:
    return conversions.Report(click_id=str(data.get("clid", "")), signature=str(data.get("sig", "")),
                              goal=str(data.get("goal", "") or "conversion"), value=str(data.get("value", "") or ""))


@never_cache
@require_GET
def pixel(request):
    """Always an image (a page never shows a broken one); the status and X-Conversion say what happened."""
    status, outcome = 200, "accepted"
    try:
        conversions.conversion_record(report=_report(request.GET), client=rate_limit_client(request),
                                      source=Conversion.Source.PIXEL)
    except ApplicationError as error:
        status, outcome = error.extra.get("status", 400), error.extra.get("code", "invalid")
    response = HttpResponse(PIXEL, content_type="image/gif", status=status)
    response["X-Conversion"] = outcome
    return response


@csrf_exempt  # server to server, authenticated by its HMAC signature, not a session
@never_cache
@require_POST
def postback(request):
    """JSON or form fields clid, goal, value, sig; answers JSON {"ok", "conversion"} or {"ok", "code", "error"}."""
    if (request.content_type or "").startswith("application/json"):
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: arrays or objects nested thousands deep
            data = None
        if not isinstance(data, dict):
            return JsonResponse({"ok": False, "code": "invalid", "error": _(
                "The body is not a JSON object. Send {\"clid\": ..., \"goal\": ..., \"value\": ..., \"sig\": ...}.")},
                status=400)
    else:
        data = request.POST
    try:
        conversion = conversions.conversion_record(report=_report(data), client=rate_limit_client(request),
                                                   source=Conversion.Source.POSTBACK)
    except ApplicationError as error:
        return JsonResponse({"ok": False, "code": error.extra.get("code", "invalid"), "error": error.message},
                            status=error.extra.get("status", 400))
    return JsonResponse({"ok": True, "conversion": conversion.id, "campaign": conversion.campaign_id})
