"""The enterprise portal's online top-up pages (在线充值), mounted in the portal's namespace by the
project's URLconf: they live in payments because they call payments.services, and ads may not import
payments. Owner only, while the advertiser is active; paying is the VIP purchase's flow (bank-transfer
instructions on the order's page, or Stripe Checkout), crediting the ledger through payments.topup."""
from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from ads.models import AdvertiserUser
from ads.portal.views import portal_view
from contentlib.errors import ApplicationError
from payments import services
from payments.models import PaymentOrder
from payments.providers import providers_available


def _check_owner(membership: AdvertiserUser) -> None:
    """The 403 for members, reporters and an advertiser that is not active, before any form is shown."""
    if membership.role != AdvertiserUser.Role.OWNER:
        raise ApplicationError(_("Your role is %(role)s: only your account's owner can top up the balance online. "
                                 "Ask your owner to do it.") % {"role": membership.get_role_display()}, {"code": "forbidden"})
    advertiser = membership.advertiser
    advertiser.refresh_from_db(fields=["status"])
    if not advertiser.may_run:
        raise ApplicationError(_("Your company's account is %(status)s: it cannot be topped up. Contact our staff.")
                               % {"status": advertiser.get_status_display().lower()}, {"code": "forbidden"})


class TopUpForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount (yuan)"), max_length=20)
    provider = forms.ChoiceField(label=gettext_lazy("Pay by"), widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(p, PaymentOrder.Provider(p).label) for p in providers_available()]
        self.fields["provider"].initial = PaymentOrder.Provider.BANK_TRANSFER
        self.fields["amount"].help_text = _("From %(minimum)s to %(maximum)s yuan per order.") % {
            "minimum": settings.AD_TOPUP_MIN, "maximum": settings.AD_TOPUP_MAX}


def _orders(membership):
    return (PaymentOrder.objects.filter(advertiser_id=membership.advertiser_id,
                                        purpose=PaymentOrder.Purpose.ADVERTISER_TOPUP)
            .prefetch_related("payments").select_related("user"))


def _state(order: PaymentOrder) -> str:
    kinds = {payment.kind for payment in order.payments.all()}
    if "refund" in kinds:
        return "refunded"
    return "paid" if "payment" in kinds else "waiting"


@require_http_methods(["GET", "HEAD", "POST"])
@portal_view
def topup(request, membership):
    _check_owner(membership)
    form = TopUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create_for_topup(
                user=request.user, advertiser_id=membership.advertiser_id, amount=form.cleaned_data["amount"],
                provider=form.cleaned_data["provider"])
            page = request.build_absolute_uri(reverse("portal:topup_order", args=[order.reference]))
            checkout = services.order_checkout_start(order_id=order.id, success_url=page, cancel_url=page)
        except ApplicationError as error:
            if error.extra.get("code") in ("not_found", "forbidden"):
                raise
            form.add_error(error.extra.get("field") if error.extra.get("field") in form.fields else None,
                           error.message)
        else:
            return redirect(checkout.redirect_url or reverse("portal:topup_order", args=[order.reference]))
    orders = [(order, _state(order)) for order in _orders(membership)[:50]]
    return render(request, "portal/topup.html", {
        "membership": membership, "advertiser": membership.advertiser, "form": form, "orders": orders},
        status=400 if request.method == "POST" else 200)


@require_safe
@portal_view
def topup_order(request, membership, reference: str):
    order = _orders(membership).filter(reference=reference).first()
    if order is None:
        raise Http404("No top-up order of your company's has this reference number.")
    _check_owner(membership)
    return render(request, "portal/topup_order.html", {
        "membership": membership, "advertiser": membership.advertiser, "order": order, "state": _state(order),
        "bank": {"name": settings.BANK_TRANSFER_ACCOUNT_NAME, "bank": settings.BANK_TRANSFER_BANK,
                 "number": settings.BANK_TRANSFER_ACCOUNT_NUMBER},
    })


urlpatterns = [
    path("topup/", topup, name="topup"),
    path("topup/<str:reference>/", topup_order, name="topup_order"),
]
