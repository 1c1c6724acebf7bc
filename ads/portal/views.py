"""The enterprise portal's pages: thin views over ads.services and ads.selectors.

Every page but sign-up, sign-in, password reset and an invitation needs a signed-in enterprise user
(`portal_view`); it reads through the selectors from the user's membership, so another advertiser's
id is a 404. A write refused for the role or the advertiser's status is a 403 page saying why.
"""
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST, require_safe

from ads import auction, planner, reports, selectors, services, sponsored
from ads.models import Advertiser, Campaign, CampaignKeyword
from ads.portal import forms
from contentlib.errors import ApplicationError
from contentlib.models import Article
from contentlib.readers import ad_day


def portal_view(view):
    """Signed-in enterprise users only; passes their membership. Anonymous users go to the sign-in page."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        membership = selectors.membership_of(request.user)
        if membership is None:
            return render(request, "portal/forbidden.html", {"message": _(
                "This account is not an enterprise user. Sign in with your company's account, or sign up your company."
            )}, status=403)
        request.membership = membership
        try:
            return view(request, membership, *args, **kwargs)
        except ApplicationError as error:
            return _refused(request, error)
    return wrapped


def _refused(request, error: ApplicationError):
    if error.extra.get("code") == "not_found":
        raise Http404(error.message)
    if error.extra.get("code") == "forbidden":
        return render(request, "portal/forbidden.html", {"message": error.message}, status=403)
    raise error


def _form_error(form, error: ApplicationError) -> None:
    """Puts a service's refusal on the form field it names, or on the form."""
    if error.extra.get("code") in ("not_found", "forbidden"):
        raise error
    field = error.extra.get("field")
    form.add_error(field if field in form.fields else None, error.message)


def _context(membership, **values):
    return {"membership": membership, "advertiser": membership.advertiser, **values}


# --- Sign-up and invitations (no membership yet) -----------------------------------------------

def signup(request):
    form = forms.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.advertiser_apply(
                name=data["name"], credit_code_value=data["credit_code"], address=data["address"],
                contact_name=data["contact_name"], phone=data["phone"], email=data["email"],
                username=data["username"], password=data["password1"])
        except ApplicationError as error:
            _form_error(form, error)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Thank you. Your application is with our staff; you can look around meanwhile."))
            return redirect("portal:dashboard")
    return render(request, "portal/signup.html", {"form": form})


def invitation_accept(request, token):
    try:
        invitation = services.invitation_read(token)
    except ApplicationError as error:
        return render(request, "portal/forbidden.html", {"message": error.message}, status=400)
    advertiser = Advertiser.objects.filter(id=invitation["advertiser"]).first()
    form = forms.AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept(token=token, username=form.cleaned_data["username"],
                                                    password=form.cleaned_data["password1"])
        except ApplicationError as error:
            _form_error(form, error)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("portal:dashboard")
    return render(request, "portal/invitation.html", {"form": form, "invitation": invitation, "company": advertiser})


# --- Dashboard -------------------------------------------------------------------------------------

@require_safe
@portal_view
def dashboard(request, membership):
    campaigns = selectors.campaign_list(membership=membership)
    counts = selectors.article_counts(membership=membership)
    return render(request, "portal/dashboard.html", _context(
        membership, counts=[(Article.Status(status).label, status, n) for status, n in counts.items()],
        campaigns=campaigns[:20], ledger=selectors.ledger(membership=membership)[:10]))


# --- Articles -------------------------------------------------------------------------------------

@require_safe
@portal_view
def article_list(request, membership):
    return render(request, "portal/article_list.html", _context(
        membership, articles=selectors.article_list(membership=membership)))


@require_safe
@portal_view
def article_detail(request, membership, article_id):
    article = selectors.article_get(membership=membership, article_id=article_id)
    if article is None:
        raise Http404
    return render(request, "portal/article_detail.html", _context(
        membership, article=article, submission=selectors.submission_get(membership=membership, article_id=article.id),
        history=selectors.article_history(article=article),
        pending_revision=article.revisions.filter(status="pending").first()))


@portal_view
def article_edit(request, membership, article_id=None):
    submission = None
    if article_id is not None:
        submission = selectors.submission_get(membership=membership, article_id=article_id)
        if submission is None:
            raise Http404
    if request.method == "POST":
        services.check_writer(membership)
    initial = {}
    if submission is not None:
        revision = submission.article.revisions.filter(status="pending").first()
        initial = {"title": (revision or submission.article).title, "body": services.submission_markdown(submission, revision),
                   "source_url": submission.article.url, "keywords": ", ".join(submission.suggested_keywords),
                   "language": submission.article.language or "zh"}
    form = forms.ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.submission_save(
                membership=membership, title=data["title"], body_markdown=data["body"], source_url=data["source_url"],
                keywords=data["keywords"], language=data["language"], article_id=article_id)
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Submitted. An editor reviews it; you will be emailed the decision."))
            return redirect("portal:article_detail", article_id=saved.article_id)
    return render(request, "portal/article_form.html", _context(membership, form=form, submission=submission))


# --- Campaigns -------------------------------------------------------------------------------------

def _campaign_or_404(membership, campaign_id):
    campaign = selectors.campaign_get(membership=membership, campaign_id=campaign_id)
    if campaign is None:
        raise Http404
    return campaign


@require_safe
@portal_view
def campaign_list(request, membership):
    return render(request, "portal/campaign_list.html", _context(
        membership, campaigns=selectors.campaign_list(membership=membership)))


@require_safe
@portal_view
def campaign_detail(request, membership, campaign_id):
    campaign = _campaign_or_404(membership, campaign_id)
    promotions = selectors.campaign_promotions(campaign=campaign)
    return render(request, "portal/campaign_detail.html", _context(
        membership, campaign=campaign, keywords=selectors.campaign_keywords(campaign=campaign),
        promotions=promotions, previews=sponsored.sponsored_previews(request, campaign=campaign, promotions=promotions),
        changes=campaign.changes.all()[:50], reviews=campaign.reviews.all()[:20],
        keywords_form=forms.KeywordsForm(),
        promotion_form=forms.PromotionForm(articles=selectors.articles_promotable(membership=membership)),
        report=request.session.pop("keyword_report", None)))


@require_safe
@portal_view
def campaign_why(request, membership, campaign_id):
    """Why this campaign of the advertiser's own was (not) shown for a question; no competitor is
    named. A read for every role (GET): nothing is logged or charged."""
    campaign = _campaign_or_404(membership, campaign_id)
    form, explanation, error = forms.ExplainForm(request.GET or None), None, ""
    if form.is_bound and form.is_valid():
        try:
            explanation = auction.explain_question(campaign=campaign, question_text=form.cleaned_data["question"])
        except ApplicationError as failure:
            error = failure.message
    return render(request, "portal/campaign_why.html", _context(
        membership, campaign=campaign, form=form, explanation=explanation, error=error))


def _plan(request, membership, campaign):
    """(form, suggestions, error) of the keyword planner for a GET request."""
    form = forms.PlannerForm(request.GET or None, articles=selectors.article_list(membership=membership))
    suggestions, error = [], ""
    if form.is_bound and form.is_valid():
        article = form.cleaned_data["article"]
        try:
            suggestions = planner.keyword_plan(membership=membership, campaign=campaign, seeds=form.cleaned_data["seeds"],
                                               article_id=article.id if article else None)
        except ApplicationError as failure:
            if failure.extra.get("code") in ("not_found", "forbidden"):
                raise
            error = failure.message
    elif form.is_bound:
        error = _("Check the seed keywords and the article, then ask again.")
    return form, suggestions, error


@require_safe
@portal_view
def campaign_planner(request, membership, campaign_id):
    """The keyword planner for one of the advertiser's campaigns: a read for every role; adding a
    suggestion posts to keywords_add like the campaign page's form."""
    campaign = _campaign_or_404(membership, campaign_id)
    form, suggestions, error = _plan(request, membership, campaign)
    return render(request, "portal/campaign_planner.html", _context(
        membership, campaign=campaign, form=form, suggestions=suggestions, error=error,
        match_types=CampaignKeyword.Match.choices, min_advertisers=planner.MIN_ADVERTISERS,
        min_auctions=planner.MIN_AUCTIONS, report=request.session.pop("keyword_report", None)))


@require_safe
@portal_view
def campaign_planner_json(request, membership, campaign_id):
    """The planner's suggestions as JSON, for the campaign form (?seeds=…&article=…)."""
    campaign = _campaign_or_404(membership, campaign_id)
    form, suggestions, error = _plan(request, membership, campaign)
    if error or not form.is_bound:
        return JsonResponse({"error": error or _("Give at least one seed keyword, or choose one of your articles, "
                                                 "to get suggestions.")}, status=400)
    return JsonResponse({"suggestions": [s.as_json() for s in suggestions],
                         "bid_rule": {"min_advertisers": planner.MIN_ADVERTISERS, "min_auctions": planner.MIN_AUCTIONS}},
                        json_dumps_params={"ensure_ascii": False})


@portal_view
def campaign_edit(request, membership, campaign_id=None):
    campaign = _campaign_or_404(membership, campaign_id) if campaign_id is not None else None
    if request.method == "POST":
        services.check_writer(membership)
    initial = {"start_date": ad_day(), "pricing": Campaign.Pricing.CPC}
    if campaign is not None:
        initial = {name: getattr(campaign, name) for name in services.CAMPAIGN_FIELDS}
        initial["categories"] = list(campaign.categories.all())
    form = forms.CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        categories = [c.id for c in data.pop("categories")]
        try:
            if campaign is None:
                campaign = services.campaign_create(membership=membership, categories=categories, **data)
                messages.success(request, _("Campaign saved as a draft. Add keywords and an article to promote, then "
                                            "submit it for review."))
            else:
                services.campaign_update(membership=membership, campaign_id=campaign.id, categories=categories, **data)
                messages.success(request, _("Campaign saved."))
        except ApplicationError as error:
            _form_error(form, error)
        else:
            return redirect("portal:campaign_detail", campaign_id=campaign.id)
    return render(request, "portal/campaign_form.html", _context(
        membership, form=form, campaign=campaign,
        reserve_cpc=services.reserve_price(Campaign.Pricing.CPC), reserve_cpm=services.reserve_price(Campaign.Pricing.CPM)))


def _campaign_action(service, done: str):
    @require_POST
    @portal_view
    def action(request, membership, campaign_id):
        try:
            service(membership=membership, campaign_id=campaign_id)
        except ApplicationError as error:
            if error.extra.get("code") in ("not_found", "forbidden"):
                raise
            messages.error(request, error.message)
        else:
            messages.success(request, _(done))
        return redirect("portal:campaign_detail", campaign_id=campaign_id)
    return action


campaign_submit = _campaign_action(services.campaign_submit, gettext_noop("Submitted for review."))
campaign_pause = _campaign_action(services.campaign_pause, gettext_noop("Paused."))
campaign_resume = _campaign_action(services.campaign_resume, gettext_noop("Resumed."))
campaign_archive = _campaign_action(services.campaign_archive, gettext_noop("Archived."))


@require_POST
@portal_view
def keywords_add(request, membership, campaign_id):
    campaign = _campaign_or_404(membership, campaign_id)
    form = forms.KeywordsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Paste at least one keyword, and give the bid as a number of yuan."))
        return redirect("portal:campaign_detail", campaign_id=campaign.id)
    try:
        report = services.keywords_add(membership=membership, campaign_id=campaign.id, **form.cleaned_data)
    except ApplicationError as error:
        if error.extra.get("code") in ("not_found", "forbidden"):
            raise
        messages.error(request, error.message)
    else:
        added = sum(line.added for line in report)
        messages.success(request, _("%(added)d of %(lines)d keywords added.") % {"added": added, "lines": len(report)})
        request.session["keyword_report"] = [
            {"line": line.line_number, "given": line.given, "keyword": line.keyword, "added": line.added,
             "reason": line.reason} for line in report]
    back = request.POST.get("back", "")
    if back.startswith(reverse("portal:campaign_planner", args=[campaign.id])):  # only our own planner page
        return redirect(back)
    return redirect("portal:campaign_detail", campaign_id=campaign.id)


@require_POST
@portal_view
def keyword_remove(request, membership, keyword_id):
    keyword = services.keyword_remove(membership=membership, keyword_id=keyword_id)
    messages.success(request, _("Removed “%(keyword)s”.") % {"keyword": keyword.text})
    return redirect("portal:campaign_detail", campaign_id=keyword.campaign_id)


@require_POST
@portal_view
def promotion_add(request, membership, campaign_id):
    campaign = _campaign_or_404(membership, campaign_id)
    form = forms.PromotionForm(request.POST, articles=selectors.articles_promotable(membership=membership))
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("portal:campaign_detail", campaign_id=campaign.id)
    try:
        services.promotion_add(membership=membership, campaign_id=campaign.id,
                               article_id=form.cleaned_data["article"].id, headline=form.cleaned_data["headline"],
                               landing_url=form.cleaned_data["landing_url"])
    except ApplicationError as error:
        if error.extra.get("code") in ("not_found", "forbidden"):
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, _("Promotion added; it waits for review."))
    return redirect("portal:campaign_detail", campaign_id=campaign.id)


@require_POST
@portal_view
def promotion_archive(request, membership, promotion_id):
    promotion = services.promotion_archive(membership=membership, promotion_id=promotion_id)
    messages.success(request, _("Promotion removed."))
    return redirect("portal:campaign_detail", campaign_id=promotion.campaign_id)


# --- Reports ------------------------------------------------------------------------------------

@require_safe
@portal_view
def reports_page(request, membership):
    """The advertiser's own report (ads.reports scoped to its advertiser, whatever the filters say)."""
    from ads import conversions  # noqa: PLC0415
    from ads.report_views import report_context  # noqa: PLC0415

    viewer = reports.Viewer(advertiser_id=membership.advertiser_id, analyst=False)
    context = report_context(request, viewer)
    if membership.role == "owner":  # the secret signs conversions: the owner's alone
        context["conversion"] = conversions.advertiser_for_secret(advertiser=membership.advertiser)
    return render(request, "portal/reports.html", _context(membership, **context))


# --- Money, users, domains ------------------------------------------------------------------------

@require_safe
@portal_view
def ledger(request, membership):
    return render(request, "portal/ledger.html", _context(membership, entries=selectors.ledger(membership=membership)))


@portal_view
def users(request, membership):
    form = forms.InviteForm(request.POST or None)
    link = None
    if request.method == "POST":
        services.check_writer(membership, invite=True)
        if form.is_valid():
            try:
                token = services.invitation_make(membership=membership, **form.cleaned_data)
            except ApplicationError as error:
                _form_error(form, error)
            else:
                link = request.build_absolute_uri(reverse("portal:invitation_accept", args=[token]))
                services.invitation_email(membership=membership, email=form.cleaned_data["email"], link=link)
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
                form = forms.InviteForm()
    return render(request, "portal/users.html", _context(
        membership, members=selectors.members(membership=membership), form=form, link=link,
        invitation_days=settings.PORTAL_INVITATION_DAYS))


@portal_view
def domains(request, membership):
    form = forms.DomainForm(request.POST or None)
    if request.method == "POST":
        services.check_writer(membership)
        if form.is_valid():
            try:
                services.domain_add(membership=membership, domain=form.cleaned_data["domain"])
            except ApplicationError as error:
                _form_error(form, error)
            else:
                return redirect("portal:domains")
    return render(request, "portal/domains.html", _context(
        membership, domains=selectors.domains(membership=membership), form=form,
        verify_file=services.VERIFY_FILE, verify_meta=services.VERIFY_META))


@require_POST
@portal_view
def domain_verify(request, membership, domain_id):
    if selectors.domain_get(membership=membership, domain_id=domain_id) is None:
        raise Http404
    try:
        domain = services.domain_verify(membership=membership, domain_id=domain_id)
    except ApplicationError as error:
        if error.extra.get("code") in ("not_found", "forbidden"):
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(domain)s is verified.") % {"domain": domain.domain})
    return redirect("portal:domains")
