"""Writes of the money half: sign-up and staff decisions on advertisers, invitations, paid article
submissions, campaigns with their keywords and promotions, reviews, verified domains, the ledger.

Every portal write takes the acting `membership` (an AdvertiserUser) and finds the object through
it, so that no id of another advertiser's can reach a write (ApplicationError code "not_found").
A write also needs a role that may write and an advertiser that may run (code "forbidden").
"""
import datetime as dt
import ipaddress
import re
import secrets
import socket
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ads import ad_law, credit_code, markdown
from ads.models import (
    Advertiser,
    AdvertiserUser,
    Campaign,
    CampaignChange,
    CampaignKeyword,
    CampaignReview,
    LedgerEntry,
    Promotion,
    Review,
    Submission,
    VerifiedDomain,
)
from contentlib import dedup
from contentlib import services as library
from contentlib.errors import ApplicationError
from contentlib.models import Article, Category
from contentlib.readers import ad_day
from contentlib.text import normalize_query, reason_clean

CENT = Decimal("0.01")
FINE = Decimal("0.0001")  # the ledger's and the balance's precision (CPM prices are per impression)
INVITATION_SALT = "ads.invitation"
KEYWORD_MAX_CHARS = 100
VERIFY_FILE = "/.well-known/contentlib-verify.txt"
VERIFY_META = "contentlib-verify"


def _name(user) -> str:
    return user.get_username() if user is not None else "system"


# --- Who may do what ----------------------------------------------------------------------------

def check_writer(membership: AdvertiserUser, *, invite: bool = False) -> None:
    """Refuses a write by a reporter, an invitation by anyone but the owner, and any write while the
    advertiser is not active (applied, refused, suspended or closed)."""
    if not membership.can_write:
        raise ApplicationError(_("Your role is reporter: you can read everything here but change nothing. Ask "
                                 "your account's owner for the member role if you need to."), {"code": "forbidden"})
    if invite and not membership.can_invite:
        raise ApplicationError(_("Only the account's owner can invite users. Ask your owner to send the invitation."),
                               {"code": "forbidden"})
    advertiser = Advertiser.objects.get(id=membership.advertiser_id)  # fresh: staff may have just suspended it
    if advertiser.status == Advertiser.Status.APPLIED:
        raise ApplicationError(_("Your company's application is still being reviewed. Nothing can be submitted "
                                 "or run until our staff approve it."), {"code": "forbidden"})
    if advertiser.status != Advertiser.Status.ACTIVE:
        raise ApplicationError(_("Your company's account is %(status)s: you can read your data but not submit, "
                                 "edit or resume anything. Contact our staff to have it reinstated.")
                               % {"status": advertiser.get_status_display().lower()}, {"code": "forbidden"})


def _own(queryset, membership: AdvertiserUser, object_id: int, what: str, *, lock: bool = True):
    """Returns the advertiser's own object, locked unless lock=False; another advertiser's is reported as missing."""
    queryset = queryset.select_for_update() if lock else queryset
    found = queryset.filter(id=object_id, advertiser_id=membership.advertiser_id).first()
    if found is None:
        raise ApplicationError(_("There is no %(what)s #%(id)s in your account.") % {"what": what, "id": object_id},
                               {"code": "not_found"})
    return found


# --- Advertisers: sign-up and staff decisions -------------------------------------------------

def advertiser_apply(*, name: str, credit_code_value: str, address: str, contact_name: str, phone: str,
                     email: str, username: str, password: str) -> AdvertiserUser:
    """Creates an applied advertiser and its owner (who may sign in and read, not yet submit)."""
    name = " ".join((name or "").split())
    code = credit_code.normalize(credit_code_value)
    try:
        credit_code.validate_credit_code(code)
    except ValidationError as error:
        raise ApplicationError(error.messages[0], {"field": "credit_code"}) from None
    if Advertiser.objects.filter(name=name).exists():
        raise ApplicationError(_("A company named “%(name)s” already has an account. If it is yours, ask its owner "
                                 "to invite you.") % {"name": name}, {"field": "name"})
    if Advertiser.objects.filter(credit_code=code).exists():
        raise ApplicationError(_("A company with this credit code already has an account. Ask its owner to invite "
                                 "you instead of signing up again."), {"field": "credit_code"})
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ApplicationError(_("The username “%(username)s” is taken. Choose another.") % {"username": username},
                               {"field": "username"})
    with transaction.atomic():
        advertiser = Advertiser.objects.create(
            name=name, credit_code=code, address=address.strip(), contact_name=contact_name.strip(),
            phone=phone.strip(), email=email.strip(), status=Advertiser.Status.APPLIED,
            currency=settings.AD_CURRENCY)
        user = User(username=username, email=email.strip())
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ApplicationError(" ".join(error.messages), {"field": "password"}) from None
        user.set_password(password)
        user.save()
        return AdvertiserUser.objects.create(user=user, advertiser=advertiser, role=AdvertiserUser.Role.OWNER)


def _check_staff(actor, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise ApplicationError(_("%(user)s may not do this. Ask an administrator for the permission.")
                               % {"user": actor.get_username()}, {"code": "forbidden"})


ADVERTISER_MOVES = {
    Advertiser.Status.ACTIVE: {Advertiser.Status.APPLIED, Advertiser.Status.REFUSED, Advertiser.Status.SUSPENDED},
    Advertiser.Status.REFUSED: {Advertiser.Status.APPLIED},
    Advertiser.Status.SUSPENDED: {Advertiser.Status.ACTIVE},
    Advertiser.Status.CLOSED: {Advertiser.Status.ACTIVE, Advertiser.Status.SUSPENDED},
}


def advertiser_decide(*, advertiser_id: int, actor, status: str, reason: str = "") -> Advertiser:
    """Approves (active), refuses (with a reason), suspends, reinstates or closes an advertiser."""
    _check_staff(actor, "ads.decide_advertiser")
    reason = reason_clean(reason)
    with transaction.atomic():
        advertiser = Advertiser.objects.select_for_update().get(id=advertiser_id)
        if advertiser.status not in ADVERTISER_MOVES[status]:
            raise ApplicationError(_("“%(name)s” is %(status)s; it cannot become %(target)s from there.") % {
                "name": advertiser.name, "status": advertiser.get_status_display().lower(),
                "target": Advertiser.Status(status).label.lower()}, {"code": "noop"})
        if status == Advertiser.Status.REFUSED and not reason:
            raise ApplicationError(_("A refusal needs a reason; it is sent to the company. Say why it is refused."),
                                   {"field": "reason"})
        advertiser.status = status
        advertiser.refusal_reason = reason if status == Advertiser.Status.REFUSED else advertiser.refusal_reason
        advertiser.decided_at = timezone.now()
        advertiser.decided_by_name = _name(actor)
        advertiser.save(update_fields=["status", "refusal_reason", "decided_at", "decided_by_name"])
    return advertiser


# --- Users: invitations ------------------------------------------------------------------------

def invitation_make(*, membership: AdvertiserUser, email: str, role: str) -> str:
    """Returns a signed invitation token for `email` to join the advertiser as `role` (member or reporter)."""
    check_writer(membership, invite=True)
    if role not in (AdvertiserUser.Role.MEMBER, AdvertiserUser.Role.REPORTER):
        raise ApplicationError(_("Invite a member or a reporter; an account has one owner."), {"field": "role"})
    return signing.dumps({"advertiser": membership.advertiser_id, "email": email.strip(), "role": role,
                          "by": membership.user_id}, salt=INVITATION_SALT)


def invitation_email(*, membership: AdvertiserUser, email: str, link: str) -> None:
    """Emails the invitation link (Django's email framework; the console in the demo)."""
    send_mail(
        _("%(company)s invites you to its enterprise portal") % {"company": membership.advertiser.name},
        _("%(user)s invites you to the enterprise portal of %(company)s. Open this link within %(days)d days to "
          "choose your username and password:\n\n%(link)s\n") % {
            "user": membership.user.get_username(), "company": membership.advertiser.name,
            "days": settings.PORTAL_INVITATION_DAYS, "link": link},
        settings.DEFAULT_FROM_EMAIL, [email])


def invitation_read(token: str) -> dict:
    """Returns the invitation's content; ApplicationError if the link was altered or has expired."""
    try:
        return signing.loads(token, salt=INVITATION_SALT, max_age=dt.timedelta(days=settings.PORTAL_INVITATION_DAYS))
    except signing.SignatureExpired:
        raise ApplicationError(_("This invitation has expired (links are valid for %(days)d days). Ask the person "
                                 "who invited you for a new one.") % {"days": settings.PORTAL_INVITATION_DAYS},
                               {"code": "expired"}) from None
    except signing.BadSignature:
        raise ApplicationError(_("This invitation link is not valid: it may be incomplete. Open the link from the "
                                 "email again, or ask for a new invitation."), {"code": "invalid"}) from None


def invitation_accept(*, token: str, username: str, password: str) -> AdvertiserUser:
    """Creates the invited user in the advertiser, once per invitation (its email can join only once)."""
    invitation = invitation_read(token)
    User = get_user_model()
    advertiser = Advertiser.objects.get(id=invitation["advertiser"])
    if advertiser.status == Advertiser.Status.CLOSED:
        raise ApplicationError(_("This company's account is closed; the invitation no longer works."))
    if AdvertiserUser.objects.filter(advertiser=advertiser, user__email__iexact=invitation["email"]).exists():
        raise ApplicationError(_("This invitation was already used: %(email)s has an account here. Sign in, or "
                                 "reset your password.") % {"email": invitation["email"]}, {"code": "used"})
    if User.objects.filter(username=username).exists():
        raise ApplicationError(_("The username “%(username)s” is taken. Choose another.") % {"username": username},
                               {"field": "username"})
    user = User(username=username, email=invitation["email"])
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), {"field": "password"}) from None
    with transaction.atomic():
        user.set_password(password)
        user.save()
        return AdvertiserUser.objects.create(user=user, advertiser=advertiser, role=invitation["role"])


def member_create(*, advertiser_id: int, username: str, email: str, role: str, password: str | None = None):
    """Staff create a portal user for an advertiser (admin); returns the membership."""
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        return AdvertiserUser.objects.create(user=user, advertiser_id=advertiser_id, role=role)


# --- Paid article submissions ------------------------------------------------------------------

def _keyword_list(text: str) -> list[str]:
    parts = re.split(r"[\n,，、;；]+", text or "")
    seen = dict.fromkeys(normalize_query(p) for p in parts)
    return [k for k in seen if k][:20]


def _submission_flags(*, text: str, title: str, language: str, exclude_id: int | None) -> dict:
    # A copy of the advertiser's own earlier article is flagged too: the editor decides.
    near = dedup.near_duplicate_find(text=text, language=language, exclude_id=exclude_id)
    return {"near_duplicate_of_id": near[0] if near else None, "similarity": near[1] if near else None,
            "banned_terms": ad_law.absolute_terms(title, text)}


MARKDOWN_VERSIONS_KEPT = 10


def submission_markdown(submission: Submission, pending_revision) -> str:
    """The Markdown to edit: that of `pending_revision` (the article's revision waiting for review, or
    None), else of the article as it is now (after a rejected edit, the published version's, not the
    rejected one's)."""
    version = (pending_revision or submission.article).content_hash
    return submission.markdown_versions.get(version, submission.body_markdown)


def submission_save(*, membership: AdvertiserUser, title: str, body_markdown: str, source_url: str = "",
                    keywords: str = "", language: str = "zh", article_id: int | None = None) -> Submission:
    """Submits a new paid article, or an edit of one (`article_id`), through the library's upsert.

    The article is the advertiser's (origin "submitted"), pending moderation and enriched like any
    other. An edit of a pending or rejected article is written in place and put back in the queue;
    an edit of an approved article becomes its pending revision, the approved text staying published.
    The editor sees whether it copies a library article and which absolute terms it uses.
    """
    check_writer(membership)
    html = markdown.render(body_markdown)
    text = markdown.plain_text(html)
    if not text:
        raise ApplicationError(_("The body is empty. Write the article's text (Markdown) before submitting."),
                               {"field": "body"})
    with transaction.atomic():
        submission = None
        if article_id is not None:
            submission = Submission.objects.select_for_update().filter(
                article_id=article_id, advertiser_id=membership.advertiser_id).first()
            if submission is None:
                raise ApplicationError(_("There is no article #%(id)s in your account.") % {"id": article_id},
                                       {"code": "not_found"})
        dedup.index_lock()
        flags = _submission_flags(text=text, title=title, language=language, exclude_id=article_id)
        try:
            result = library.article_upsert(
                title=title, text=text, html=html, url=source_url, origin=Article.Origin.SUBMITTED,
                language=language, owner_id=membership.advertiser_id, article_id=article_id,
                proposed_by=f"{membership.user.get_username()} ({membership.advertiser.name})")
        except ApplicationError as error:
            if error.extra.get("field") == "url":
                raise ApplicationError(_("The source URL is not a valid web address. Give a full address such as "
                                         "https://example.com/article, or leave it empty."), {"field": "source_url"}) from None
            raise
        article = result.article
        if result.outcome == "updated":
            library.article_resubmit(article_id=article.id)
        if result.outcome in ("created", "updated"):
            signature, keys = dedup.signature_of(article.text, article.language)
            dedup.index_many([(article.id, article.content_hash, signature, keys, result.outcome == "created")])
        version = (result.revision or article).content_hash
        kept = {h: m for h, m in (submission.markdown_versions if submission else {}).items() if h != version}
        kept[version] = body_markdown  # newest last; the oldest go past MARKDOWN_VERSIONS_KEPT
        values = {"body_markdown": body_markdown, "suggested_keywords": _keyword_list(keywords),
                  "markdown_versions": dict(list(kept.items())[-MARKDOWN_VERSIONS_KEPT:]),
                  "submitted_by_name": membership.user.get_username(), **flags}
        if submission is None:
            submission = Submission.objects.create(article=article, advertiser_id=membership.advertiser_id, **values)
        else:
            for name, value in values.items():
                setattr(submission, name, value)
            submission.save()
    return submission


# --- Campaigns ----------------------------------------------------------------------------------

def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise ApplicationError(_("“%(value)s” is not an amount. Give a number of yuan such as 1.50.") % {"value": value},
                               {"field": field}) from None
    if not amount.is_finite() or amount <= 0:
        raise ApplicationError(_("The amount must be more than zero. Give a number of yuan such as 1.50."),
                               {"field": field})
    return amount


def reserve_price(pricing: str) -> Decimal:
    """The lowest bid accepted for this pricing (settings AD_RESERVE_CPC / AD_RESERVE_CPM)."""
    return settings.AD_RESERVE_CPC if pricing == Campaign.Pricing.CPC else settings.AD_RESERVE_CPM


def _check_bid(bid: Decimal, pricing: str, field: str) -> None:
    reserve = reserve_price(pricing)
    if bid < reserve:
        unit = _("per click") if pricing == Campaign.Pricing.CPC else _("per thousand impressions")
        raise ApplicationError(_("The bid %(bid)s is below the reserve price of %(reserve)s yuan %(unit)s. Bid at least "
                                 "%(reserve)s.") % {"bid": bid, "reserve": reserve, "unit": unit}, {"field": field})


CAMPAIGN_FIELDS = ("name", "pricing", "max_bid", "daily_budget", "total_budget", "start_date", "end_date", "hours",
                   "languages", "frequency_cap")
HISTORY_FIELDS = ("pricing", "max_bid", "daily_budget", "total_budget", "start_date", "end_date")


def _campaign_values(values: dict, *, existing: Campaign | None) -> dict:
    """Validates a campaign's settings; returns them cleaned. Dates in the past are refused on a new
    campaign, and on an existing one only when they change."""
    cleaned = dict(values)
    cleaned["name"] = " ".join((values.get("name") or "").split())
    if not cleaned["name"]:
        raise ApplicationError(_("Give the campaign a name."), {"field": "name"})
    if cleaned.get("pricing") not in Campaign.Pricing.values:
        raise ApplicationError(_("Choose CPC or CPM pricing."), {"field": "pricing"})
    for field in ("max_bid", "daily_budget", "total_budget"):
        cleaned[field] = _money(values.get(field), field)
    _check_bid(cleaned["max_bid"], cleaned["pricing"], "max_bid")
    if cleaned["daily_budget"] < cleaned["max_bid"]:
        what = _("one click") if cleaned["pricing"] == Campaign.Pricing.CPC else _("one thousand impressions")
        raise ApplicationError(_("A daily budget of %(daily)s cannot pay for %(what)s at the bid of %(bid)s. Raise the "
                                 "daily budget to at least %(bid)s, or lower the bid.")
                               % {"daily": cleaned["daily_budget"], "what": what, "bid": cleaned["max_bid"]},
                               {"field": "daily_budget"})
    if cleaned["total_budget"] < cleaned["daily_budget"]:
        raise ApplicationError(_("The total budget (%(total)s) is less than one day's budget (%(daily)s). Raise the "
                                 "total budget or lower the daily one.")
                               % {"total": cleaned["total_budget"], "daily": cleaned["daily_budget"]},
                               {"field": "total_budget"})
    today = ad_day()
    start, end = values.get("start_date"), values.get("end_date")
    if not isinstance(start, dt.date):
        raise ApplicationError(_("Give a start date."), {"field": "start_date"})
    if start < today and (existing is None or existing.start_date != start):
        raise ApplicationError(_("The start date %(date)s is in the past. Start today (%(today)s) or later.")
                               % {"date": start, "today": today}, {"field": "start_date"})
    if end is not None and end < start:
        raise ApplicationError(_("The end date %(end)s is before the start date %(start)s. End on or after the start.")
                               % {"end": end, "start": start}, {"field": "end_date"})
    if end is not None and end < today and (existing is None or existing.end_date != end):
        raise ApplicationError(_("The end date %(date)s is in the past. End today (%(today)s) or later, or leave it "
                                 "empty.") % {"date": end, "today": today}, {"field": "end_date"})
    hours = sorted({int(h) for h in values.get("hours") or []})
    if any(h < 0 or h > 23 for h in hours):
        raise ApplicationError(_("Hours are 0 to 23."), {"field": "hours"})
    cleaned["hours"] = [] if len(hours) == 24 else hours
    cleaned["languages"] = sorted({lang for lang in values.get("languages") or [] if lang in ("zh", "en")})
    cap = values.get("frequency_cap")
    cleaned["frequency_cap"] = int(cap) if cap not in (None, "") else None
    if cleaned["frequency_cap"] is not None and cleaned["frequency_cap"] < 1:
        raise ApplicationError(_("A frequency cap is at least 1 impression a day; leave it empty for none."),
                               {"field": "frequency_cap"})
    return cleaned


def campaign_create(*, membership: AdvertiserUser, categories: list[int] | None = None, **values) -> Campaign:
    """Creates a draft campaign; it runs once submitted (`campaign_submit`) and approved by an editor."""
    check_writer(membership)
    cleaned = _campaign_values({name: values.get(name) for name in CAMPAIGN_FIELDS}, existing=None)
    with transaction.atomic():
        campaign = Campaign.objects.create(advertiser_id=membership.advertiser_id, **cleaned)
        campaign.categories.set(Category.objects.filter(id__in=categories or []))
    return campaign


def _history(campaign: Campaign, field: str, old, new, actor) -> None:
    CampaignChange.objects.create(campaign=campaign, field=field, old="" if old is None else str(old),
                                  new="" if new is None else str(new), actor=actor, actor_name=_name(actor))


def campaign_update(*, membership: AdvertiserUser, campaign_id: int, categories: list[int] | None = None,
                    **values) -> Campaign:
    """Changes a campaign's settings; each bid, budget or date change is kept (who, when, old, new).

    Settings need no new review: what an editor reviews (keywords, promotions) does.
    """
    check_writer(membership)
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        if campaign.status == Campaign.Status.ARCHIVED:
            raise ApplicationError(_("This campaign is archived; it can no longer be changed. Create a new one."))
        cleaned = _campaign_values({name: values.get(name, getattr(campaign, name)) for name in CAMPAIGN_FIELDS},
                                   existing=campaign)
        _check_budgets_cover_spend(campaign, cleaned)
        for name, value in cleaned.items():
            old = getattr(campaign, name)
            if old != value:
                if name in HISTORY_FIELDS:
                    _history(campaign, name, old, value, membership.user)
                setattr(campaign, name, value)
        if campaign.status == Campaign.Status.REJECTED:
            campaign.status = Campaign.Status.DRAFT  # changed after a rejection: submit it again
        # Never the spend counters: only ads.billing's conditional updates write them.
        campaign.save(update_fields=[*CAMPAIGN_FIELDS, "status", "updated_at"])
        if categories is not None:
            campaign.categories.set(Category.objects.filter(id__in=categories))
    from ads import billing  # noqa: PLC0415 - billing imports this module

    # A raised budget lets a campaign that was out of it run again; a lowered one may stop it.
    billing.daily_budgets_reset(campaign_ids=[campaign.id])
    billing.statuses_update(campaign_id=campaign.id)
    campaign.refresh_from_db()
    return campaign


def _check_budgets_cover_spend(campaign: Campaign, cleaned: dict) -> None:
    """A budget is never set below what the campaign has already spent (spend ≤ every limit)."""
    # Read fresh: the counters move by conditional updates, never through this object.
    spent = Campaign.objects.filter(id=campaign.id).values("spend_total", "spend_today", "spend_day").get()
    # A spend day after today (a clock ahead of ours) is counted as today, to err on the safe side.
    today = spent["spend_today"] if spent["spend_day"] and spent["spend_day"] >= ad_day() else Decimal(0)
    if cleaned["total_budget"] < spent["spend_total"]:
        raise ApplicationError(_("The campaign has spent %(spent)s already; a total budget of %(budget)s is less. "
                                 "Give at least %(spent)s.") % {"spent": spent["spend_total"].quantize(CENT, ROUND_CEILING),
                                                                 "budget": cleaned["total_budget"]},
                               {"field": "total_budget"})
    if cleaned["daily_budget"] < today:
        raise ApplicationError(_("The campaign has spent %(spent)s today; a daily budget of %(budget)s is less. Give "
                                 "at least %(spent)s, or lower it tomorrow.")
                               % {"spent": today.quantize(CENT, ROUND_CEILING), "budget": cleaned["daily_budget"]},
                               {"field": "daily_budget"})


def _set_status(campaign: Campaign, status: str, actor) -> None:
    _history(campaign, "status", campaign.status, status, actor)
    campaign.status = status
    campaign.save(update_fields=["status", "updated_at"])


def campaign_submit(*, membership: AdvertiserUser, campaign_id: int) -> Campaign:
    """Sends a draft (or rejected, since changed) campaign to the editors' review."""
    check_writer(membership)
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.REJECTED):
            raise ApplicationError(_("Only a draft campaign is submitted for review; this one is %(status)s.")
                                   % {"status": campaign.get_status_display().lower()}, {"code": "noop"})
        if not campaign.keywords.filter(archived=False, negative=False).exists():
            raise ApplicationError(_("Add at least one keyword before submitting the campaign."), {"field": "keywords"})
        if not campaign.promotions.filter(archived=False).exists():
            raise ApplicationError(_("Add at least one of your approved articles to promote before submitting."),
                                   {"field": "promotions"})
        campaign.rejection_reason = ""
        campaign.keywords.filter(archived=False, review=Review.REJECTED).update(review=Review.PENDING, rejection_reason="")
        campaign.promotions.filter(archived=False, review=Review.REJECTED).update(review=Review.PENDING,
                                                                                  rejection_reason="")
        _set_status(campaign, Campaign.Status.PENDING, membership.user)
        campaign.save(update_fields=["rejection_reason"])
    return campaign


def campaign_pause(*, membership: AdvertiserUser, campaign_id: int) -> Campaign:
    """Stops an approved campaign from being served until it is resumed."""
    # Pausing only stops spending, so a suspended or closed advertiser's users may still pause; reporters may not.
    if not membership.can_write:
        check_writer(membership)
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        if campaign.status not in (Campaign.Status.ACTIVE, Campaign.Status.OUT_OF_DAILY_BUDGET,
                                   Campaign.Status.OUT_OF_BUDGET):
            raise ApplicationError(_("Only a running campaign can be paused; this one is %(status)s.")
                                   % {"status": campaign.get_status_display().lower()}, {"code": "noop"})
        _set_status(campaign, Campaign.Status.PAUSED, membership.user)
    return campaign


def campaign_resume(*, membership: AdvertiserUser, campaign_id: int) -> Campaign:
    """Runs a paused campaign again (its budget and dates permitting, decided when it is served)."""
    check_writer(membership)
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        if campaign.status != Campaign.Status.PAUSED:
            raise ApplicationError(_("Only a paused campaign can be resumed; this one is %(status)s.")
                                   % {"status": campaign.get_status_display().lower()}, {"code": "noop"})
        if campaign.end_date and campaign.end_date < ad_day():
            raise ApplicationError(_("The campaign ended on %(date)s. Move its end date later to resume it.")
                                   % {"date": campaign.end_date}, {"field": "end_date"})
        _set_status(campaign, Campaign.Status.ACTIVE, membership.user)
    return campaign


def campaign_archive(*, membership: AdvertiserUser, campaign_id: int) -> Campaign:
    """Archives a campaign for good (it is never deleted: its history and billing stay)."""
    check_writer(membership)
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        if campaign.status == Campaign.Status.ARCHIVED:
            raise ApplicationError(_("The campaign is already archived."), {"code": "noop"})
        _set_status(campaign, Campaign.Status.ARCHIVED, membership.user)
    return campaign


# --- Keywords ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeywordLine:
    """One pasted line: what was made of it, or why it was refused."""

    line_number: int
    given: str
    keyword: str
    added: bool
    reason: str = ""


def keywords_add(*, membership: AdvertiserUser, campaign_id: int, lines: str, match_type: str,
                 negative: bool = False, bid=None) -> list[KeywordLine]:
    """Adds keywords pasted one a line; returns a report of every non-empty line (added, or why not).

    Each is normalized by `normalize_query`; one the campaign already has (same text, match type and
    sign) or one given twice is refused. On an approved campaign the new keywords wait for review
    while the approved ones keep running.
    """
    check_writer(membership)
    if match_type not in CampaignKeyword.Match.values:
        raise ApplicationError(_("Choose exact, phrase or broad match."), {"field": "match_type"})
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        if campaign.status == Campaign.Status.ARCHIVED:
            raise ApplicationError(_("This campaign is archived; it can no longer be changed. Create a new one."))
        own_bid = None
        if bid not in (None, ""):
            own_bid = _money(bid, "bid")
            _check_bid(own_bid, campaign.pricing, "bid")
        existing = set(campaign.keywords.filter(archived=False, negative=negative, match_type=match_type)
                       .values_list("text", flat=True))
        report = []
        for number, raw in enumerate((lines or "").splitlines(), start=1):
            if not raw.strip():
                continue
            keyword = normalize_query(raw)
            reason = ""
            if not keyword:
                reason = _("nothing is left once punctuation is removed")
            elif len(keyword) > KEYWORD_MAX_CHARS:
                reason = _("longer than %(max)d characters") % {"max": KEYWORD_MAX_CHARS}
            elif keyword in existing:
                reason = _("the campaign already has “%(keyword)s” with this match type") % {"keyword": keyword}
            if reason:
                report.append(KeywordLine(number, raw.strip(), keyword, False, reason))
                continue
            CampaignKeyword.objects.create(campaign=campaign, text=keyword, match_type=match_type, negative=negative,
                                           bid=None if negative else own_bid,
                                           review=Review.PENDING)
            existing.add(keyword)
            report.append(KeywordLine(number, raw.strip(), keyword, True))
        if not report:
            raise ApplicationError(_("No keywords were given. Paste one keyword a line."), {"field": "lines"})
    return report


def keyword_remove(*, membership: AdvertiserUser, keyword_id: int) -> CampaignKeyword:
    """Takes a keyword out of its campaign (kept, marked removed, for the campaign's history)."""
    check_writer(membership)
    with transaction.atomic():
        keyword = CampaignKeyword.objects.select_for_update().filter(
            id=keyword_id, campaign__advertiser_id=membership.advertiser_id, archived=False).first()
        if keyword is None:
            raise ApplicationError(_("There is no keyword #%(id)s in your account.") % {"id": keyword_id},
                                   {"code": "not_found"})
        keyword.archived = True
        keyword.save(update_fields=["archived"])
    return keyword


# --- Promotions and verified domains ----------------------------------------------------------

def _host(url_or_domain: str) -> str:
    value = url_or_domain.strip().lower()
    if "//" not in value:
        value = "//" + value
    try:
        parts = urlsplit(value)
    except ValueError:  # "[::1", "http://[zz]/": no host, so never a domain name nor a verified one
        return ""
    return parts.netloc.rsplit("@", 1)[-1]


def _on_verified_domain(advertiser_id: int, url: str) -> bool:
    host = _host(url)
    bare = host.split(":")[0]
    for domain in VerifiedDomain.objects.filter(advertiser_id=advertiser_id, verified_at__isnull=False) \
            .values_list("domain", flat=True):
        if host == domain or bare == domain or bare.endswith("." + domain.split(":")[0]) and ":" not in domain:
            return True
    return False


def promotion_add(*, membership: AdvertiserUser, campaign_id: int, article_id: int, headline: str = "",
                  landing_url: str = "") -> Promotion:
    """Promotes one of the advertiser's own published articles, optionally to a landing URL on a
    verified domain; waits for review (the headline is checked for absolute terms)."""
    check_writer(membership)
    with transaction.atomic():
        campaign = _own(Campaign.objects, membership, campaign_id, _("campaign"))
        article = Article.objects.filter(id=article_id, owner_id=membership.advertiser_id).first()
        if article is None:
            raise ApplicationError(_("There is no article #%(id)s in your account.") % {"id": article_id},
                                   {"code": "not_found", "field": "article"})
        if not article.is_published:
            raise ApplicationError(_("“%(title)s” is not approved yet; only approved articles can be promoted. Wait "
                                     "for the editors' decision.") % {"title": article.title}, {"field": "article"})
        if campaign.promotions.filter(article=article, archived=False).exists():
            raise ApplicationError(_("The campaign already promotes “%(title)s”.") % {"title": article.title},
                                   {"field": "article"})
        landing_url = (landing_url or "").strip()
        if landing_url:
            if urlsplit(landing_url).scheme not in ("http", "https"):
                raise ApplicationError(_("The landing URL must start with https:// or http://."), {"field": "landing_url"})
            if not _on_verified_domain(membership.advertiser_id, landing_url):
                raise ApplicationError(_("%(host)s is not one of your verified domains. Verify the domain first (Domains "
                                         "page), or leave the landing URL empty to open the article here.")
                                       % {"host": _host(landing_url)}, {"field": "landing_url"})
        headline = " ".join((headline or "").split())
        return Promotion.objects.create(
            campaign=campaign, article=article, headline=headline, landing_url=landing_url,
            banned_terms=ad_law.absolute_terms(headline, article.title), review=Review.PENDING)


def promotion_archive(*, membership: AdvertiserUser, promotion_id: int) -> Promotion:
    check_writer(membership)
    with transaction.atomic():
        promotion = Promotion.objects.select_for_update().filter(
            id=promotion_id, campaign__advertiser_id=membership.advertiser_id, archived=False).first()
        if promotion is None:
            raise ApplicationError(_("There is no promotion #%(id)s in your account.") % {"id": promotion_id},
                                   {"code": "not_found"})
        promotion.archived = True
        promotion.save(update_fields=["archived"])
    return promotion


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
                     r"(:\d{1,5})?$")


def domain_add(*, membership: AdvertiserUser, domain: str) -> VerifiedDomain:
    """Registers a domain to verify and gives it a token to publish."""
    check_writer(membership)
    host = _host(domain)
    if not _DOMAIN.match(host) or "." not in host and not host.startswith("localhost"):
        raise ApplicationError(_("“%(domain)s” is not a domain name. Give one such as example.com.")
                               % {"domain": domain}, {"field": "domain"})
    found = VerifiedDomain.objects.filter(advertiser_id=membership.advertiser_id, domain=host).first()
    if found:
        return found
    return VerifiedDomain.objects.create(advertiser_id=membership.advertiser_id, domain=host,
                                         token=secrets.token_urlsafe(24))


def resolve_host(name: str) -> list[str]:
    """The addresses DNS gives for `name` (the one lookup a domain check makes; a test substitutes it)."""
    return [info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # is_global alone lets multicast (224.0.0.0/4, ff00::/8) and NAT64's 64:ff9b::/96 through.
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


def _checked_address(name: str) -> str:
    """Resolves `name` once and returns the address to connect to, refusing a name with any private,
    loopback, link-local, multicast or reserved address (so that no second lookup can rebind it)."""
    try:
        addresses = resolve_host(name)
    except OSError:
        addresses = []
    if not addresses:
        raise ApplicationError(_("%(host)s cannot be found (DNS). Check the spelling of the domain.")
                               % {"host": name})
    if not settings.AD_DOMAIN_VERIFY_ALLOW_PRIVATE and not all(_public(address) for address in addresses):
        raise ApplicationError(_("%(host)s points to a private address; only public web sites can be verified.")
                               % {"host": name})
    return addresses[0]


def _fetch(*, scheme: str, host: str, address: str, path: str) -> tuple[int, str]:
    """GETs `path` from `address` itself, with the Host header and TLS's SNI and certificate check
    for `host` (name[:port]): the connection goes to the address that was checked, never to a fresh
    lookup. Redirects are not followed. Returns the status and the start of the body."""
    name, _colon, port = host.partition(":")
    options = {"port": int(port) if port else None, "timeout": settings.AD_DOMAIN_VERIFY_TIMEOUT_SECONDS,
               "retries": False, "maxsize": 1}
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, server_hostname=name, assert_hostname=name,
                                           cert_reqs="CERT_REQUIRED", ca_certs=settings.AD_DOMAIN_VERIFY_CA_BUNDLE or certifi.where(), **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, **options)
    with pool:
        answer = pool.request("GET", path, redirect=False, preload_content=False,
                              headers={"Host": host,
                                       "User-Agent": f"{settings.CRAWLER_BOT_NAME} domain verification"})
        body = answer.read(200_000) if answer.status == 200 else b""
        answer.release_conn()
    return answer.status, body.decode("utf-8", "replace")


_META = re.compile(r"<meta\s[^>]*name=[\"']?" + VERIFY_META + r"[\"']?[^>]*>", re.I)
_CONTENT = re.compile(r"content=[\"']?([^\"'\s>]+)", re.I)


def domain_verify(*, membership: AdvertiserUser, domain_id: int) -> VerifiedDomain:
    """Fetches the token file, then the home page's meta tag, over HTTPS then HTTP; marks the domain
    verified when either holds its token. The name is resolved once, refused unless every address
    is public, and each fetch connects to that address (no DNS rebinding between check and fetch).
    Redirects are not followed (a token must be on the domain)."""
    check_writer(membership)
    # Not locked: no transaction is held open across the fetches below (each up to its timeout).
    domain = _own(VerifiedDomain.objects, membership, domain_id, _("domain"), lock=False)
    address = _checked_address(domain.domain.split(":")[0])
    problems = []
    for scheme in ("https", "http"):
        for path in (VERIFY_FILE, "/"):
            url = f"{scheme}://{domain.domain}{path}"
            try:
                status, body = _fetch(scheme=scheme, host=domain.domain, address=address, path=path)
            except urllib3.exceptions.HTTPError as error:
                problems.append(f"{url}: {type(error).__name__}")
                break  # the scheme does not answer: try the next one
            if path == VERIFY_FILE and body.strip() == domain.token:
                return _verified(domain)
            if path == "/" and any(domain.token in _CONTENT.findall(tag) for tag in _META.findall(body)):
                return _verified(domain)
            problems.append(f"{url}: HTTP {status}")
    domain.last_error = "; ".join(problems)[:2000]
    domain.save(update_fields=["last_error"])
    raise ApplicationError(_("The token was not found on %(domain)s (%(problems)s). Publish it as described, then "
                             "try again.") % {"domain": domain.domain, "problems": domain.last_error}, {"code": "unverified"})


def _verified(domain: VerifiedDomain) -> VerifiedDomain:
    domain.verified_at = timezone.now()
    domain.last_error = ""
    domain.save(update_fields=["verified_at", "last_error"])
    return domain


# --- Review by editors --------------------------------------------------------------------------

def _pending_parts(campaign: Campaign) -> tuple[list, list]:
    keywords = list(campaign.keywords.filter(archived=False, review=Review.PENDING))
    promotions = list(campaign.promotions.filter(archived=False, review=Review.PENDING))
    return keywords, promotions


def _review(*, campaign_id: int, actor, approve: bool, reason: str) -> CampaignReview:
    _check_staff(actor, "ads.review_campaign")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(id=campaign_id)
        keywords, promotions = _pending_parts(campaign)
        if campaign.status != Campaign.Status.PENDING and not (campaign.was_approved and (keywords or promotions)):
            raise ApplicationError(_("“%(name)s” has nothing waiting for review.") % {"name": campaign.name},
                                   {"code": "noop"})
        before = campaign.status
        decided = Review.APPROVED if approve else Review.REJECTED
        CampaignKeyword.objects.filter(id__in=[k.id for k in keywords]).update(
            review=decided, rejection_reason="" if approve else reason)
        Promotion.objects.filter(id__in=[p.id for p in promotions]).update(
            review=decided, rejection_reason="" if approve else reason)
        if campaign.status == Campaign.Status.PENDING:
            campaign.rejection_reason = "" if approve else reason
            campaign.save(update_fields=["rejection_reason"])
            _set_status(campaign, Campaign.Status.ACTIVE if approve else Campaign.Status.REJECTED, actor)
        return CampaignReview.objects.create(
            campaign=campaign, action=CampaignReview.Action.APPROVE if approve else CampaignReview.Action.REJECT,
            reason=reason, actor=actor, actor_name=_name(actor),
            detail={"from_status": before, "to_status": campaign.status,
                    "keywords": [str(k) for k in keywords], "promotions": [str(p) for p in promotions]})


def campaign_approve(*, campaign_id: int, actor, reason: str = "") -> CampaignReview:
    """Approves a pending campaign with its keywords and promotions, or an approved campaign's
    changed parts; records the review (the campaign may then be served, labelled 广告)."""
    return _review(campaign_id=campaign_id, actor=actor, approve=True, reason=reason_clean(reason))


def campaign_reject(*, campaign_id: int, actor, reason: str) -> CampaignReview:
    """Rejects a pending campaign, or only the changed parts of an approved one (the rest keeps running)."""
    reason = reason_clean(reason)
    if not reason:
        raise ApplicationError(_("A rejection needs a reason; it is shown to the advertiser. Say what to change."),
                               {"field": "reason"})
    return _review(campaign_id=campaign_id, actor=actor, approve=False, reason=reason)


# --- Money: the append-only ledger ---------------------------------------------------------------

def _post(*, advertiser: Advertiser, kind: str, amount: Decimal, actor, note: str,
          reverses: LedgerEntry | None = None, actor_name: str = "") -> LedgerEntry:
    """Writes one ledger entry and the advertiser's new balance in the caller's transaction (row locked)."""
    advertiser.balance = (advertiser.balance + amount).quantize(FINE)
    advertiser.save(update_fields=["balance"])
    return LedgerEntry.objects.create(advertiser=advertiser, kind=kind, amount=amount, currency=advertiser.currency,
                                      balance_after=advertiser.balance, reverses=reverses, note=note.strip(),
                                      actor=actor, actor_name=actor_name or _name(actor))


def ledger_top_up(*, advertiser_id: int, amount, actor, note: str = "") -> LedgerEntry:
    """Adds prepaid money to an advertiser's balance (staff, from admin), recorded with the staff member's name."""
    _check_staff(actor, "ads.manage_balance")
    amount = _money(amount, "amount")
    with transaction.atomic():
        advertiser = Advertiser.objects.select_for_update().get(id=advertiser_id)
        return _post(advertiser=advertiser, kind=LedgerEntry.Kind.TOP_UP, amount=amount, actor=actor, note=note)


ONLINE_PAYMENT_ACTOR = "在线支付 / online payment"


def _online_key(payment_id: int, what: str = "payment") -> str:
    # Bracketed so that payment 1's key is not inside payment 12's.
    return f"[{what}:{payment_id}]"


def _online_entry(advertiser_id: int, payment_id: int, kind: str, what: str = "payment") -> LedgerEntry | None:
    return LedgerEntry.objects.filter(advertiser_id=advertiser_id, kind=kind, actor__isnull=True,
                                      actor_name=ONLINE_PAYMENT_ACTOR,
                                      note__contains=_online_key(payment_id, what)).first()


def ledger_top_up_online(*, advertiser_id: int, amount: Decimal, payment_id: int, reference: str) -> LedgerEntry:
    """The top-up entry for money an advertiser paid online (payment `payment_id` of order `reference`),
    in the caller's transaction with the advertiser's row locked. Once per payment: a second call
    returns the entry written by the first and writes nothing."""
    amount = _money(amount, "amount")
    with transaction.atomic():
        advertiser = Advertiser.objects.select_for_update().get(id=advertiser_id)
        existing = _online_entry(advertiser_id, payment_id, LedgerEntry.Kind.TOP_UP)
        if existing is not None:
            return existing
        entry = _post(advertiser=advertiser, kind=LedgerEntry.Kind.TOP_UP, amount=amount, actor=None,
                      note=f"{reference} {_online_key(payment_id)}", actor_name=ONLINE_PAYMENT_ACTOR)
        return entry


def ledger_top_up_online_reverse(*, advertiser_id: int, payment_id: int, refund_id: int, reference: str,
                                 allow_negative: bool) -> LedgerEntry:
    """The refund entry reversing the online top-up of payment `payment_id` (refund `refund_id`), in the
    caller's transaction, once. Refused (ApplicationError) when the advertiser has spent part of it and
    `allow_negative` is False; a gateway's refund, already sent back, is recorded anyway."""
    with transaction.atomic():
        advertiser = Advertiser.objects.select_for_update().get(id=advertiser_id)
        top_up = _online_entry(advertiser_id, payment_id, LedgerEntry.Kind.TOP_UP)
        if top_up is None:
            raise ApplicationError(_("No online top-up entry for this payment is in the advertiser's ledger; "
                                     "nothing can be reversed."), {"code": "not_found"})
        existing = _online_entry(advertiser_id, refund_id, LedgerEntry.Kind.REFUND, "refund")
        if existing is not None:
            return existing
        available = advertiser.balance - advertiser.accrued  # CPM spend accrued but not yet in the ledger is spent
        if available < top_up.amount and not allow_negative:
            raise ApplicationError(_("The advertiser's balance is %(balance)s, less than the %(amount)s top-up: part "
                                     "of it has been spent. Nothing was refunded. Refund at most the balance from the "
                                     "advertiser's ledger instead.")
                                   % {"balance": available, "amount": top_up.amount}, {"field": "amount"})
        entry = _post(advertiser=advertiser, kind=LedgerEntry.Kind.REFUND, amount=-top_up.amount, actor=None,
                      note=f"{reference} {_online_key(refund_id, 'refund')} of {_online_key(payment_id)}",
                      reverses=top_up, actor_name=ONLINE_PAYMENT_ACTOR)
        return entry


@dataclass(frozen=True)
class LedgerEffect:
    """What a refund or credit would do, shown on its confirmation page before it is made."""

    advertiser: Advertiser
    kind: str
    amount: Decimal  # signed, as it would be written
    balance_before: Decimal
    balance_after: Decimal
    reverses: LedgerEntry | None


def ledger_effect(*, advertiser_id: int, kind: str, amount, reverses_id: int | None = None) -> LedgerEffect:
    """Checks a refund (money paid back, reversing a top-up) or a credit (money given, optionally
    reversing a charge) and returns its effect, without writing anything."""
    amount = _money(amount, "amount")
    advertiser = Advertiser.objects.get(id=advertiser_id)
    reverses = None
    if reverses_id:
        reverses = LedgerEntry.objects.filter(id=reverses_id, advertiser_id=advertiser_id).first()
        if reverses is None:
            raise ApplicationError(_("Ledger entry #%(id)s is not this advertiser's.") % {"id": reverses_id},
                                   {"field": "reverses"})
        # Summed here, as Decimals: a few rows, and SQLite would sum them as floats.
        already = -sum(reverses.reversals.values_list("amount", flat=True), Decimal("0"))
        left = abs(reverses.amount) - abs(already)
        if amount > left:
            raise ApplicationError(_("Entry #%(id)s has %(left)s left to reverse; %(amount)s is more. Give at most "
                                     "%(left)s.") % {"id": reverses.id, "left": left, "amount": amount},
                                   {"field": "amount"})
    if kind == LedgerEntry.Kind.REFUND:
        if reverses is not None and reverses.kind != LedgerEntry.Kind.TOP_UP:
            raise ApplicationError(_("A refund reverses a top-up; entry #%(id)s is not one.") % {"id": reverses.id},
                                   {"field": "reverses"})
        # Accrued CPM spend is owed already (the next flush charges it): it cannot be refunded.
        available = advertiser.balance - advertiser.accrued
        if amount > available:
            raise ApplicationError(_("The balance is %(balance)s; a refund of %(amount)s would make it negative. Refund "
                                     "at most %(balance)s.") % {"balance": available.quantize(CENT, ROUND_FLOOR),
                                                                "amount": amount},
                                   {"field": "amount"})
        signed = -amount
    elif kind == LedgerEntry.Kind.CREDIT:
        if reverses is not None and reverses.kind != LedgerEntry.Kind.CHARGE:
            raise ApplicationError(_("A credit reverses a charge; entry #%(id)s is not one.") % {"id": reverses.id},
                                   {"field": "reverses"})
        signed = amount
    else:
        raise ApplicationError(_("Choose a refund or a credit."), {"field": "kind"})
    return LedgerEffect(advertiser, kind, signed, advertiser.balance, (advertiser.balance + signed).quantize(FINE),
                        reverses)


def ledger_reverse(*, advertiser_id: int, kind: str, amount, actor, reason: str,
                   reverses_id: int | None = None) -> LedgerEntry:
    """Writes a refund or credit (a new, reversing entry: nothing is ever edited or deleted)."""
    _check_staff(actor, "ads.manage_balance")
    reason = reason_clean(reason)
    if not reason:
        raise ApplicationError(_("Say why the money is refunded or credited; the reason is kept in the ledger."),
                               {"field": "reason"})
    with transaction.atomic():
        Advertiser.objects.select_for_update().get(id=advertiser_id)
        effect = ledger_effect(advertiser_id=advertiser_id, kind=kind, amount=amount, reverses_id=reverses_id)
        advertiser = Advertiser.objects.get(id=advertiser_id)
        return _post(advertiser=advertiser, kind=kind, amount=effect.amount, actor=actor, note=reason,
                     reverses=effect.reverses)
