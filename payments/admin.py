"""Staff's payments: plans, orders (confirm a bank transfer), payments (refund), the gateway's notices,
and readers' memberships (grant days). Every row here is append-only: nothing can be deleted, and
orders, payments, notices and grants cannot be edited either."""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contentlib import services as library
from contentlib.errors import ApplicationError
from contentlib.models import Membership, MembershipGrant
from payments import services
from payments.models import Payment, PaymentNotice, PaymentOrder, Plan


class AppendOnly:
    """No deleting; no editing once written (a correction is a new row)."""

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "slug", "price", "currency", "period_days", "active")
    list_filter = ("active",)

    def has_delete_permission(self, request, obj=None):
        return False  # orders point at plans: take a plan off sale instead

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "period_days") if obj else ()  # memberships and reports name the plan by slug


class PaymentInline(admin.TabularInline):
    model = Payment
    fk_name = "order"
    extra = 0
    can_delete = False
    fields = readonly_fields = ("kind", "amount", "currency", "provider", "gateway_payment", "confirmed_by",
                                "note", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaymentOrder)
class PaymentOrderAdmin(AppendOnly, admin.ModelAdmin):
    list_display = ("reference", "state", "user", "plan_name", "amount_shown", "created")  # provider: a filter
    list_filter = ("purpose", "provider", "plan")
    search_fields = ("reference", "user__username", "user__email", "gateway_session")
    date_hierarchy = "created_at"
    actions = ("confirm_bank_transfer",)
    inlines = (PaymentInline,)
    readonly_fields = ("reference", "purpose", "provider", "user", "plan", "advertiser", "amount", "currency",
                       "gateway_session", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "plan").prefetch_related("payments")

    def has_add_permission(self, request):
        return False  # readers make orders on the VIP page

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("payments.view_paymentorder")

    @admin.display(description=gettext_lazy("plan"), ordering="plan__name")
    def plan_name(self, order):
        return order.plan.name if order.plan_id else order.advertiser

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_shown(self, order):
        return f"¥{order.amount}" if order.currency == "CNY" else f"{order.amount} {order.currency}"

    @admin.display(description=gettext_lazy("created at"), ordering="created_at")
    def created(self, order):
        return timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=gettext_lazy("state"))
    def state(self, order):
        kinds = {payment.kind for payment in order.payments.all()}
        if Payment.Kind.REFUND in kinds:
            return _("Refunded")
        if Payment.Kind.PAYMENT in kinds:
            return _("Paid")
        return _("Awaiting payment")

    @admin.action(description=gettext_lazy("Confirm: the full amount of these bank transfers arrived"),
                  permissions=["confirm"])
    def confirm_bank_transfer(self, request, queryset):
        if not request.POST.get("confirmed"):  # first a page to check the orders against the bank statement
            return TemplateResponse(request, "admin/payments/paymentorder/confirm_bank_transfer.html", {
                **self.admin_site.each_context(request), "opts": self.model._meta,
                "title": _("Confirm bank transfers"), "orders": queryset.select_related("user", "plan"),
            })
        for order in queryset:
            if order.provider != PaymentOrder.Provider.BANK_TRANSFER:
                self.message_user(request, _("%(reference)s is paid by card: its gateway confirms it, not staff.")
                                  % {"reference": order.reference}, messages.ERROR)
                continue
            try:
                services.bank_transfer_confirm(order_id=order.id, amount=order.amount, actor=request.user)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("%(reference)s: the transfer of ¥%(amount)s is confirmed, and what it "
                                             "buys is granted.") % {"reference": order.reference,
                                                                    "amount": order.amount}, messages.SUCCESS)

    def has_confirm_permission(self, request):
        return request.user.has_perm("payments.confirm_bank_transfer")


@admin.register(Payment)
class PaymentAdmin(AppendOnly, admin.ModelAdmin):
    list_display = ("order", "kind", "amount", "currency", "provider", "confirmed_by", "created_at")
    list_filter = ("kind", "provider")
    search_fields = ("order__reference", "gateway_payment", "gateway_event")
    date_hierarchy = "created_at"
    actions = ("refund",)

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("Refund in full (after the money was sent back by bank transfer)"),
                  permissions=["refund"])
    def refund(self, request, queryset):
        for payment in queryset.select_related("order"):
            if payment.kind != Payment.Kind.PAYMENT:
                continue
            if payment.provider != PaymentOrder.Provider.BANK_TRANSFER:
                self.message_user(request, _("Refund %(reference)s in the Stripe dashboard: its notice records the "
                                             "refund here.") % {"reference": payment.order.reference}, messages.ERROR)
                continue
            try:
                services.payment_refund(payment_id=payment.id, actor=request.user, note=_("refunded by staff"))
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                done = (_("%(reference)s refunded; the top-up is taken back from the advertiser's balance.")
                        if payment.order.purpose == PaymentOrder.Purpose.ADVERTISER_TOPUP else
                        _("%(reference)s refunded; the membership days it bought are taken back."))
                self.message_user(request, done % {"reference": payment.order.reference}, messages.SUCCESS)

    def has_refund_permission(self, request):
        return request.user.has_perm("payments.refund_payment")


@admin.register(PaymentNotice)
class PaymentNoticeAdmin(AppendOnly, admin.ModelAdmin):
    list_display = ("received_at", "provider", "event_type", "event_id", "outcome", "order")
    list_filter = ("outcome", "provider", "event_type")
    search_fields = ("event_id", "order__reference", "detail")
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False


class MembershipGrantForm(forms.ModelForm):
    """Staff grant a reader a plan's days, free of charge (a prize, a complaint settled, a trial)."""

    reader = forms.EmailField(label=gettext_lazy("reader's email"),
                              help_text=gettext_lazy("The email address the reader signed up with."))
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), label=gettext_lazy("plan"),
                                  help_text=gettext_lazy("The reader gets this plan's days, after any days left."))

    class Meta:
        model = MembershipGrant
        fields = ("note",)

    def clean_reader(self):
        email = self.cleaned_data["reader"].strip()
        reader = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if reader is None:
            raise forms.ValidationError(_("No active account has the address %(email)s. Check the spelling, or ask "
                                          "the reader to sign up and confirm the email first.") % {"email": email})
        return reader


@admin.register(MembershipGrant)
class MembershipGrantAdmin(AppendOnly, admin.ModelAdmin):
    list_display = ("created_at", "membership", "source", "plan_slug", "days", "until_after", "reference",
                    "granted_by")
    list_filter = ("source", "plan_slug")
    search_fields = ("membership__user__username", "membership__user__email", "reference")
    date_hierarchy = "created_at"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipGrantForm
            kwargs["fields"] = ("reader", "plan", "note")
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("reader", "plan", "note")
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        plan = form.cleaned_data["plan"]
        grant = library.membership_extend(
            user_id=form.cleaned_data["reader"].id, days=plan.period_days, plan_slug=plan.slug,
            source=MembershipGrant.Source.STAFF, granted_by=request.user, note=form.cleaned_data["note"],
        )
        obj.pk, obj.id = grant.pk, grant.pk  # the admin's log and redirect name the grant the service wrote
        obj.membership, obj.source, obj.days, obj.plan_slug = grant.membership, grant.source, grant.days, plan.slug


class MembershipGrantInline(admin.TabularInline):
    model = MembershipGrant
    fk_name = "membership"
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "source", "plan_slug", "days", "until_before", "until_after",
                                "reference", "granted_by", "note")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(AppendOnly, admin.ModelAdmin):
    list_display = ("user", "plan_slug", "until", "reminded_until")
    search_fields = ("user__username", "user__email")
    list_filter = ("plan_slug",)
    inlines = (MembershipGrantInline,)

    def has_add_permission(self, request):
        return False  # grant days instead (membership grants → add): the membership follows
