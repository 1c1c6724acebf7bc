"""The VIP pages (plans, subscribing, an order's page) and the gateways' webhooks. Thin: each calls
one service or selector."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contentlib.errors import ApplicationError
from contentlib.selectors import membership_active
from payments import selectors, services
from payments.models import PaymentNotice, PaymentOrder
from payments.providers import providers_available


def _safe_next(request, value: str) -> str:
    """`value` if it is a path on this site (the report the reader came from), else ""."""
    ok = value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure())
    return value if ok and value.startswith("/") else ""


def vip(request):
    back = _safe_next(request, request.GET.get("next", ""))
    if back:
        request.session["vip_next"] = back  # the paid order's page links back to it
    return render(request, "payments/vip.html", {
        "plans": selectors.plans_on_sale(), "providers": providers_available(),
        "membership": membership_active(user=request.user), "next": back,
    })


@require_POST
@login_required
def subscribe(request, plan_id: int):
    provider = request.POST.get("provider", PaymentOrder.Provider.BANK_TRANSFER)
    try:
        order = services.order_create_for_plan(user=request.user, plan_id=plan_id, provider=provider)
        page = request.build_absolute_uri(reverse("payments:order", args=[order.reference]))
        checkout = services.order_checkout_start(order_id=order.id, success_url=page, cancel_url=page)
    except ApplicationError as error:
        return render(request, "site/notice.html", {"heading": _("We could not start the payment"),
                                                    "message": error.message}, status=400)
    return redirect(checkout.redirect_url or reverse("payments:order", args=[order.reference]))


@login_required
def order(request, reference: str):
    found = selectors.order_for_payer(reference=reference, user=request.user)
    if found is None:
        raise Http404("No order of yours has this reference number.")
    return render(request, "payments/order.html", {
        "order": found, "paid": services.order_paid(found), "membership": membership_active(user=request.user),
        "back": _safe_next(request, request.session.get("vip_next", "")) or reverse("site:article_list"),
        "bank": {"name": settings.BANK_TRANSFER_ACCOUNT_NAME, "bank": settings.BANK_TRANSFER_BANK,
                 "number": settings.BANK_TRANSFER_ACCOUNT_NUMBER},
    })


# A notice we acted on, or recorded and will never act on, gets 200 so the gateway stops retrying; one
# whose signature failed gets 400 (Stripe shows it on the endpoint's page, and retries it).
_STATUS = {PaymentNotice.Outcome.BAD_SIGNATURE: 400, PaymentNotice.Outcome.MALFORMED: 400,
           PaymentNotice.Outcome.REPLAYED: 400}


@csrf_exempt  # signed by the gateway instead; no browser ever posts here
@require_POST
def stripe_webhook(request):
    if not settings.STRIPE_WEBHOOK_SECRET:
        return HttpResponse("Stripe is not configured here: set STRIPE_WEBHOOK_SECRET.\n", status=503,
                            content_type="text/plain")
    # A notice's record and log line are technical, read by operators next to the gateway's own
    # dashboard: in English, whatever the default language (the outcome column is translated in admin).
    with translation.override("en"):
        notice = services.gateway_notice_handle(provider=PaymentOrder.Provider.STRIPE, body=request.body,
                                                signature_header=request.headers.get("Stripe-Signature", ""))
    status = _STATUS.get(notice.outcome, 200)
    return HttpResponse(f"{notice.outcome}: {notice.detail or 'ok'}\n", status=status, content_type="text/plain")
