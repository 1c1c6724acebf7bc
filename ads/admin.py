"""Staff's side of the money half: approving advertisers, enterprise users, reviewing campaigns with
their keywords and promotions on one page, the ledger (top-ups; refunds and credits through a
confirmation page), and the flags of enterprises' submissions on the editors' article page."""
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ads import auction, billing, notices, selectors, services
from ads.models import (
    Advertiser,
    AdvertiserUser,
    AuctionLog,
    Campaign,
    CampaignChange,
    CampaignKeyword,
    CampaignReview,
    Click,
    Conversion,
    DailyRollup,
    ExportJob,
    Impression,
    LedgerEntry,
    Notice,
    Placement,
    Promotion,
    Submission,
    VerifiedDomain,
)
from contentlib.admin import ArticleAdmin, ArticleRevisionAdmin, ReadOnlyAdmin, RejectForm
from contentlib.errors import ApplicationError
from contentlib.models import Article, ArticleRevision


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _run(model_admin, request, action, done: str) -> bool:
    """Runs one service call for a staff button and reports it; returns whether it succeeded."""
    try:
        action()
    except ApplicationError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
        return False
    model_admin.message_user(request, done, messages.SUCCESS)
    transaction.on_commit(notices.notices_send)  # the email of the decision, once
    return True


# --- Submissions on the editors' article page --------------------------------------------------

def submission_flags(submission: Submission | None) -> str:
    """The editor's warnings about a submission (a near-duplicate, absolute terms), escaped."""
    if submission is None:
        return "—"
    parts = []
    if submission.near_duplicate_of_id:
        parts.append(format_html(
            '<span class="flag">{}</span> <a href="{}">#{}</a> ({})', _("Copies a library article:"),
            reverse("admin:contentlib_article_change", args=[submission.near_duplicate_of_id]),
            submission.near_duplicate_of_id, f"{submission.similarity or 0:.0%}"))
    if submission.banned_terms:
        parts.append(format_html('<span class="flag">{}</span> {}', _("Absolute terms (广告法 art. 9):"),
                                 "、".join(submission.banned_terms)))
    return format_html("<br>".join(["{}"] * len(parts)), *parts) if parts else _("none")


admin.site.unregister(Article)


@admin.register(Article)
class ArticleWithSubmissionAdmin(ArticleAdmin):
    """The library's article admin, with what an enterprise's submission brings (flags, keywords) at
    the top of the article's page, where the editor decides."""

    list_display = (*ArticleAdmin.list_display[:1], "submission_flag", *ArticleAdmin.list_display[1:])
    change_form_template = "admin/ads/article_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **_submission_context(object_id)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("submission")

    @admin.display(description=gettext_lazy("flags"))
    def submission_flag(self, article):
        submission = getattr(article, "submission", None)
        if submission is None or not (submission.near_duplicate_of_id or submission.banned_terms):
            return ""
        return format_html('<span class="flag">{}</span>', _("check"))


def _submission_context(article_id) -> dict:
    submission = Submission.objects.filter(article_id=article_id).select_related("advertiser").first()
    if submission is None:
        return {}
    return {"submission": submission, "submission_flags": submission_flags(submission),
            "submission_flagged": bool(submission.near_duplicate_of_id or submission.banned_terms)}


admin.site.unregister(ArticleRevision)


@admin.register(ArticleRevision)
class RevisionWithSubmissionAdmin(ArticleRevisionAdmin):
    """The library's revision page, with the flags of the enterprise's edit (checked on the edited text)."""

    change_form_template = "admin/ads/articlerevision_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        revision = ArticleRevision.objects.filter(id=object_id).only("article_id").first()
        if revision is not None and revision.status == ArticleRevision.Status.PENDING:
            extra_context = {**(extra_context or {}), **_submission_context(revision.article_id)}
        return super().change_view(request, object_id, form_url, extra_context)


# --- Advertisers -------------------------------------------------------------------------------

class AdvertiserUserInline(admin.TabularInline):
    model = AdvertiserUser
    extra = 0
    can_delete = False
    fields = ("user", "role", "created_at")
    readonly_fields = ("user", "created_at")

    def has_add_permission(self, request, obj=None):
        return False  # staff create users on the Enterprise users page


class LedgerInline(_ReadOnlyInline):
    model = LedgerEntry
    fk_name = "advertiser"
    fields = ("created_at", "kind", "amount", "balance_after", "reverses", "actor_name", "note")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    verbose_name_plural = gettext_lazy("Ledger (append-only)")


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             max_length=2000, required=False,
                             help_text=gettext_lazy("Required to refuse; sent to the company."))


class TopUpForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount (CNY)"), min_value=Decimal("0.01"), decimal_places=2,
                                max_digits=14)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500,
                           help_text=gettext_lazy("For example the bank transfer's reference."))


class AdjustForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=[
        (LedgerEntry.Kind.REFUND, gettext_lazy("Refund (money paid back to the company)")),
        (LedgerEntry.Kind.CREDIT, gettext_lazy("Credit (money given to the company)"))])
    amount = forms.DecimalField(label=gettext_lazy("Amount (CNY)"), min_value=Decimal("0.01"), decimal_places=2,
                                max_digits=14)
    reverses = forms.IntegerField(label=gettext_lazy("Reverses entry #"), required=False,
                                  help_text=gettext_lazy("A refund may reverse a top-up, a credit a charge."))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(Advertiser)
class AdvertiserAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "credit_code", "balance", "currency", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "credit_code", "contact_name", "email")
    fields = ("name", "status", "credit_code", "address", "contact_name", "phone", "email", "balance", "currency",
              "refusal_reason", "decided_at", "decided_by_name", "created_at")
    readonly_fields = ("status", "balance", "currency", "refusal_reason", "decided_at", "decided_by_name", "created_at")
    inlines = (AdvertiserUserInline, LedgerInline)

    def get_ordering(self, request):
        return ("status", "name")

    def has_delete_permission(self, request, obj=None):
        return False  # closed, never deleted: articles, campaigns and the ledger point at it

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/decide/<str:status>/", wrap(require_POST(self.decide_view)), name="ads_advertiser_decide"),
            path("<int:object_id>/top-up/", wrap(require_POST(self.top_up_view)), name="ads_advertiser_top_up"),
            path("<int:object_id>/adjust/", wrap(self.adjust_view), name="ads_advertiser_adjust"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        advertiser = self.get_object(request, object_id)
        if advertiser is not None:
            moves = [status for status, allowed in services.ADVERTISER_MOVES.items() if advertiser.status in allowed]
            extra_context = {
                **(extra_context or {}),
                "can_decide": request.user.has_perm("ads.decide_advertiser"),
                "moves": [(status, Advertiser.Status(status).label) for status in moves],
                "reason_form": ReasonForm(auto_id="id_decide_%s"),
                "can_manage_balance": request.user.has_perm("ads.manage_balance"),
                "top_up_form": TopUpForm(auto_id="id_top_up_%s"),
                "ledger_sum": selectors.ledger_sum(advertiser_id=advertiser.id),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _back(self, advertiser_id):
        return redirect(reverse("admin:ads_advertiser_change", args=[advertiser_id]))

    def decide_view(self, request, object_id, status):
        if not request.user.has_perm("ads.decide_advertiser"):
            raise PermissionDenied
        advertiser = get_object_or_404(Advertiser, id=object_id)
        if status not in services.ADVERTISER_MOVES:
            raise PermissionDenied
        _run(self, request, lambda: services.advertiser_decide(
            advertiser_id=advertiser.id, actor=request.user, status=status, reason=request.POST.get("reason", "")),
            _("“%(name)s” is now %(status)s.") % {"name": advertiser.name,
                                                 "status": Advertiser.Status(status).label.lower()})
        return self._back(advertiser.id)

    def top_up_view(self, request, object_id):
        if not request.user.has_perm("ads.manage_balance"):
            raise PermissionDenied
        advertiser = get_object_or_404(Advertiser, id=object_id)
        form = TopUpForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("Give the amount as a positive number of yuan, such as 500.00."),
                              messages.ERROR)
            return self._back(advertiser.id)
        _run(self, request, lambda: services.ledger_top_up(
            advertiser_id=advertiser.id, amount=form.cleaned_data["amount"], actor=request.user,
            note=form.cleaned_data["note"]),
            _("Added %(amount)s CNY to the balance of “%(name)s”.") % {"amount": form.cleaned_data["amount"],
                                                                    "name": advertiser.name})
        return self._back(advertiser.id)

    def adjust_view(self, request, object_id):
        """A refund or credit: the form, then a page showing its effect, then the entry on confirmation."""
        if not request.user.has_perm("ads.manage_balance"):
            raise PermissionDenied
        advertiser = get_object_or_404(Advertiser, id=object_id)
        form = AdjustForm(request.POST or None)
        effect = None
        if request.method == "POST" and form.is_valid():
            values = {"advertiser_id": advertiser.id, "kind": form.cleaned_data["kind"],
                      "amount": form.cleaned_data["amount"], "reverses_id": form.cleaned_data["reverses"]}
            try:
                effect = services.ledger_effect(**values)
            except ApplicationError as error:
                form.add_error(error.extra.get("field") if error.extra.get("field") in form.fields else None,
                               error.message)
            else:
                if request.POST.get("confirm") == "1":
                    if _run(self, request, lambda: services.ledger_reverse(
                            **values, actor=request.user, reason=form.cleaned_data["reason"]),
                            _("Recorded. The balance of “%(name)s” is now %(balance)s.")
                            % {"name": advertiser.name, "balance": effect.balance_after}):
                        return self._back(advertiser.id)
        context = {**self.admin_site.each_context(request), "title": _("Refund or credit"), "opts": self.model._meta,
                   "original": advertiser, "form": form, "effect": effect}
        return TemplateResponse(request, "admin/ads/advertiser/adjust.html", context)


class EnterpriseUserAddForm(forms.ModelForm):
    username = forms.CharField(label=gettext_lazy("username"), max_length=150)
    email = forms.EmailField(label=gettext_lazy("email"))
    password = forms.CharField(label=gettext_lazy("password"), widget=forms.PasswordInput, required=False,
                               help_text=gettext_lazy("Leave empty: the user sets one through “forgot password”."))

    class Meta:
        model = AdvertiserUser
        fields = ("advertiser", "role")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(_("The username “%(username)s” is taken. Choose another.")
                                        % {"username": username})
        return username


@admin.register(AdvertiserUser)
class AdvertiserUserAdmin(admin.ModelAdmin):
    list_display = ("user", "advertiser", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "advertiser__name")
    list_select_related = ("user", "advertiser")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EnterpriseUserAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("advertiser", "role", "username", "email", "password")
        return ("user", "advertiser", "role", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "advertiser", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        membership = services.member_create(
            advertiser_id=form.cleaned_data["advertiser"].id, username=form.cleaned_data["username"],
            email=form.cleaned_data["email"], role=form.cleaned_data["role"],
            password=form.cleaned_data["password"] or None)
        obj.pk, obj.user_id = membership.pk, membership.user_id
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Campaign review ------------------------------------------------------------------------------

class KeywordInline(_ReadOnlyInline):
    model = CampaignKeyword
    fields = ("text", "match_type", "negative", "bid", "review", "rejection_reason", "archived")
    readonly_fields = fields
    ordering = ("archived", "review", "negative", "text")


class PromotionInline(_ReadOnlyInline):
    model = Promotion
    fields = ("article_link", "headline", "landing_url", "flags", "review", "rejection_reason", "archived")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("article"))
    def article_link(self, promotion):
        return format_html('<a href="{}">{}</a>', reverse("admin:contentlib_article_change", args=[promotion.article_id]),
                           promotion.article.title)

    @admin.display(description=gettext_lazy("absolute terms"))
    def flags(self, promotion):
        if not promotion.banned_terms:
            return ""
        return format_html('<span class="flag">{}</span>', "、".join(promotion.banned_terms))


class ReviewInline(_ReadOnlyInline):
    model = CampaignReview
    fields = ("created_at", "actor_name", "action", "reason", "decided")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Reviews (audit)")

    @admin.display(description=gettext_lazy("what was decided"))
    def decided(self, review):
        parts = review.detail.get("keywords", []) + review.detail.get("promotions", [])
        moved = ""
        if review.detail.get("from_status") != review.detail.get("to_status"):
            moved = f"{Campaign.Status(review.detail['from_status']).label} → {Campaign.Status(review.detail['to_status']).label}; "
        return moved + ("、".join(parts) or "—")


class ChangeInline(_ReadOnlyInline):
    model = CampaignChange
    fields = ("created_at", "actor_name", "what", "old_value", "new_value")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Changes of bids, budgets, dates and status")

    @admin.display(description=gettext_lazy("field"))
    def what(self, change):
        return change.field_label

    @admin.display(description=gettext_lazy("old value"))
    def old_value(self, change):
        return change.old_display

    @admin.display(description=gettext_lazy("new value"))
    def new_value(self, change):
        return change.new_display


class ToReviewFilter(admin.SimpleListFilter):
    title = gettext_lazy("review")
    parameter_name = "to_review"

    def lookups(self, request, model_admin):
        return [("1", _("Waiting for review"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(id__in=selectors.campaigns_to_review().values("id"))
        return queryset


class ExplainForm(forms.Form):
    question = forms.CharField(label=gettext_lazy("Question"), max_length=500,
                               help_text=gettext_lazy("As a reader would ask it, e.g. 展台设计多少钱."))


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    """Editors review a campaign on one page: its settings, keywords, promotions, history and reviews.
    Read-only: advertisers create campaigns in the portal, editors decide with the buttons on its page,
    and a campaign is archived, never deleted."""

    list_display = ("name", "advertiser", "status", "pricing", "max_bid", "daily_budget", "start_date", "end_date")
    list_filter = (ToReviewFilter, "status", "pricing", "advertiser")
    search_fields = ("name", "advertiser__name", "keywords__text")
    list_select_related = ("advertiser",)
    fields = ("name", "advertiser", "status", "rejection_reason", "pricing", "max_bid", "daily_budget", "total_budget",
              "start_date", "end_date", "hours", "language_list", "categories", "frequency_cap", "created_at")
    readonly_fields = fields
    inlines = (KeywordInline, PromotionInline, ReviewInline, ChangeInline)

    @admin.display(description=gettext_lazy("languages"))
    def language_list(self, campaign):
        return "、".join(campaign.language_labels) or _("every language")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/approve/", wrap(require_POST(self.approve_view)), name="ads_campaign_approve"),
            path("<int:object_id>/reject/", wrap(require_POST(self.reject_view)), name="ads_campaign_reject"),
            path("<int:object_id>/why-not-shown/", wrap(self.why_view), name="ads_campaign_why"),
        ] + super().get_urls()

    def why_view(self, request, object_id):
        """Why was this campaign not shown for a question: eligibility and scoring re-run now."""
        campaign = get_object_or_404(Campaign.objects.select_related("advertiser"), id=object_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        form, explanation, error = ExplainForm(request.GET or None), None, ""
        if form.is_bound and form.is_valid():
            try:
                explanation = auction.explain_question(campaign=campaign, question_text=form.cleaned_data["question"])
            except ApplicationError as failure:
                error = failure.message
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "campaign": campaign,
                   "form": form, "explanation": explanation, "error": error,
                   "title": _("Why was it not shown?")}
        return TemplateResponse(request, "admin/ads/campaign/why_not_shown.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, object_id)
        if campaign is not None:
            waiting = selectors.campaigns_to_review().filter(id=campaign.id).exists()
            extra_context = {**(extra_context or {}), "can_review": request.user.has_perm("ads.review_campaign"),
                             "waiting": waiting, "reject_form": RejectForm(auto_id="id_reject_%s")}
        return super().change_view(request, object_id, form_url, extra_context)

    def _decide(self, request, object_id, approve: bool):
        if not request.user.has_perm("ads.review_campaign"):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, id=object_id)
        if approve:
            _run(self, request, lambda: services.campaign_approve(campaign_id=campaign.id, actor=request.user),
                 _("Approved “%(name)s”.") % {"name": campaign.name})
        else:
            _run(self, request, lambda: services.campaign_reject(campaign_id=campaign.id, actor=request.user,
                                                                 reason=request.POST.get("reason", "")),
                 _("Rejected “%(name)s”.") % {"name": campaign.name})
        return redirect(reverse("admin:ads_campaign_change", args=[campaign.id]))

    def approve_view(self, request, object_id):
        return self._decide(request, object_id, True)

    def reject_view(self, request, object_id):
        return self._decide(request, object_id, False)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """The ledger, read-only: entries are added from an advertiser's page, never edited or deleted."""

    list_display = ("created_at", "advertiser", "kind", "amount", "balance_after", "campaign", "units", "event",
                    "reverses", "actor_name", "note")
    list_filter = ("kind", "advertiser")
    search_fields = ("advertiser__name", "note", "actor_name", "event")
    list_select_related = ("advertiser", "campaign")


@admin.register(VerifiedDomain)
class VerifiedDomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "advertiser", "verified_at", "last_error")
    list_select_related = ("advertiser",)
    readonly_fields = ("advertiser", "domain", "token", "verified_at", "last_error", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "advertiser", "to", "subject")
    list_select_related = ("advertiser",)


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "kind", "slots", "reserve_cpc", "reserve_cpm", "active")
    list_filter = ("kind", "active")

    def has_delete_permission(self, request, obj=None):
        return False  # its auctions point at it; deactivate instead


@admin.register(AuctionLog)
class AuctionLogAdmin(ReadOnlyAdmin):
    """Every auction request, read-only: what was shown, at what price, and why the others lost."""

    list_display = ("created_at", "placement", "question_text", "language", "candidates", "filled", "duration_ms")
    list_filter = ("placement", "filled", "language")
    search_fields = ("question_text",)
    date_hierarchy = "ad_day"
    list_select_related = ("placement",)
    # The raw JSON of `winners` and `losers` is read back as tables a person can read.
    fields = ("created_at", "placement", "question", "normalized_question", "language", "reader_key", "ad_day",
              "candidates", "filled", "floor", "duration_ms", "what_won", "why_each_lost")
    readonly_fields = ("normalized_question", "what_won", "why_each_lost")

    @admin.display(description=gettext_lazy("question as matched (normalized)"))
    def normalized_question(self, log):
        return log.question_text

    @admin.display(description=gettext_lazy("what won"))
    def what_won(self, log):
        """The slots shown: campaign and advertiser by name, linked, with keyword, bid, price and relevance."""
        winners = sorted(log.winners or (), key=lambda w: w.get("slot", 0))
        if not winners:
            return _("Nothing won: no slot was filled.")
        campaigns = dict(Campaign.objects.filter(id__in=[w.get("campaign") for w in winners]).values_list("id", "name"))
        advertisers = dict(Advertiser.objects.filter(id__in=[w.get("advertiser") for w in winners])
                           .values_list("id", "name"))
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                           _("slot"), _("campaign"), _("advertiser"), _("keyword"), _("bid"), _("price"),
                           _("relevance"))
        rows = format_html_join("", '<tr><td>{}</td><td><a href="{}">{} (#{})</a></td><td>{}</td><td>{}</td>'
                                    "<td>{} {}</td><td>{}</td><td>{}</td></tr>", (
            (w.get("slot"), reverse("admin:ads_campaign_change", args=[w.get("campaign")]),
             campaigns.get(w.get("campaign"), _("deleted campaign")), w.get("campaign"),
             advertisers.get(w.get("advertiser"), "—"), w.get("keyword") or "—", w.get("bid") or "—",
             (w.get("pricing") or "").upper(), w.get("price") or "—", w.get("relevance", "—"))
            for w in winners))
        return format_html("<table>{}{}</table>", head, rows)

    @admin.display(description=gettext_lazy("why each candidate lost"))
    def why_each_lost(self, log):
        """The compact losers read back: per reason, its message, how many and which campaigns (the
        first SHOWN_PER_REASON by name, linked to their pages; a floor can hold over a thousand)."""
        by_reason: dict[str, list[int]] = {}
        for outcome in auction.logged_outcomes(log).values():
            if outcome.reason != "won":
                by_reason.setdefault(outcome.reason, []).append(outcome.campaign_id)
        if not by_reason:
            return "—"
        shown = {reason: sorted(ids)[:self.SHOWN_PER_REASON] for reason, ids in by_reason.items()}
        names = dict(Campaign.objects.filter(id__in=[i for ids in shown.values() for i in ids])
                     .values_list("id", "name"))
        order = list(auction.REASONS)
        parts = []
        for reason, ids in sorted(by_reason.items(),
                                  key=lambda item: order.index(item[0]) if item[0] in order else len(order)):
            links = format_html_join(
                ", ", '<a href="{}">{} (#{})</a>',
                ((reverse("admin:ads_campaign_change", args=[i]), names.get(i, _("deleted campaign")), i)
                 for i in shown[reason]))
            more = len(ids) - len(shown[reason])
            rest = format_html(" " + _("and {count} more"), count=more) if more > 0 else ""
            parts.append(format_html("<p><strong>{}</strong> ({}): {}{}</p>", auction.REASONS.get(reason, reason),
                                     len(ids), links, rest))
        return format_html_join("", "{}", ((part,) for part in parts))

    SHOWN_PER_REASON = 20


@admin.register(Impression)
class ImpressionAdmin(ReadOnlyAdmin):
    list_display = ("served_at", "campaign", "placement", "position", "pricing", "price", "invalid_reason",
                    "viewable_at", "cost", "unbilled_reason", "credited_at")
    list_filter = ("pricing", "invalid_reason", "unbilled_reason", "placement", "ad_day")
    search_fields = ("id", "campaign__name", "campaign__advertiser__name")
    list_select_related = ("campaign", "placement")
    date_hierarchy = "served_at"
    show_full_result_count = False  # a count(*) over millions of rows on every page


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    """A click with its charge and the ledger entry that holds it (staff see why one was not billed)."""

    list_display = ("at", "campaign", "billed", "reason", "amount", "charge_entry", "credited_at", "ip_prefix",
                    "browser_family")
    list_filter = ("billed", "reason", "placement", "ad_day")
    search_fields = ("id", "impression__id", "campaign__name", "campaign__advertiser__name")
    list_select_related = ("campaign", "ledger_entry")
    date_hierarchy = "at"
    show_full_result_count = False
    actions = ["credit_selected"]

    @admin.display(description=gettext_lazy("charge"))
    def charge_entry(self, click):
        if click.ledger_entry_id is None:
            return "—"
        url = reverse("admin:ads_ledgerentry_change", args=[click.ledger_entry_id])
        return format_html('<a href="{}">#{} {}</a>', url, click.ledger_entry_id, click.ledger_entry.amount)

    @admin.action(description=gettext_lazy("Credit the selected billed clicks: found invalid after billing"),
                  permissions=["manage_balance"])
    def credit_selected(self, request, queryset):
        credited = 0
        for click in queryset.filter(billed=True, credited_at__isnull=True):
            try:
                billing.event_credit(event=f"click:{click.id}", actor=request.user,
                                     reason=_("Found invalid after billing (credited from admin)"))
                credited += 1
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
        self.message_user(request, _("%(count)d clicks credited; each credit is a ledger entry naming its click.")
                          % {"count": credited}, messages.SUCCESS)

    def has_manage_balance_permission(self, request):
        return request.user.has_perm("ads.manage_balance")


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdmin):
    list_display = ("ad_day", "campaign", "keyword", "placement", "served", "viewable", "clicks_valid",
                    "clicks_billed", "clicks_credited", "spend", "computed_at")
    list_filter = ("ad_day", "placement")
    search_fields = ("campaign__name", "campaign__advertiser__name")
    list_select_related = ("campaign", "keyword", "placement")
    date_hierarchy = "ad_day"


@admin.register(Conversion)
class ConversionAdmin(ReadOnlyAdmin):
    """Conversions advertisers reported (pixel or postback), each with the click it is attributed to."""

    list_display = ("at", "campaign", "goal", "value", "source", "click_ad_day", "click_valid", "click_link")
    list_filter = ("source", "goal", "click_valid", "placement")
    search_fields = ("click_key", "campaign__name", "advertiser__name", "goal")
    list_select_related = ("campaign",)
    date_hierarchy = "at"
    show_full_result_count = False

    @admin.display(description=gettext_lazy("click"))
    def click_link(self, conversion):
        if conversion.click_id is None:
            return "—"
        return format_html('<a href="{}">#{}</a>', reverse("admin:ads_click_change", args=[conversion.click_id]),
                           conversion.click_id)


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    """Report and click-log exports: who asked for which rows, how far the worker got, and why one failed."""

    list_display = ("created_at", "user", "advertiser", "kind", "status", "rows_done", "rows_total", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("user__username", "advertiser__name", "file_name", "error")
    list_select_related = ("user", "advertiser")
    date_hierarchy = "created_at"
