"""Emails to an advertiser's owner, once per event: its application decided, an article or campaign
approved or rejected (with the reason), its balance below AD_LOW_BALANCE or below AD_BALANCE_DAYS_LEFT
days of its recent average daily spend, a campaign near its end or out of its daily or total budget.

`notices_send` looks for events not yet noticed and sends each one; a unique key per event
(ads.models.Notice) makes a second run, or two workers at once, send nothing twice. Celery beat
runs it every few minutes; the admin runs it straight after a decision.
"""
import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _

from ads.models import Advertiser, AdvertiserUser, Campaign, CampaignReview, LedgerEntry, Notice
from contentlib.models import ModerationEvent
from contentlib.readers import ad_day

logger = logging.getLogger(__name__)


def _owner_email(advertiser: Advertiser) -> str:
    owner = (AdvertiserUser.objects.filter(advertiser=advertiser, role=AdvertiserUser.Role.OWNER)
             .select_related("user").first())
    return (owner.user.email if owner and owner.user.email else advertiser.email) or ""


def notice_send(*, advertiser: Advertiser, key: str, subject: str, body: str) -> bool:
    """Sends one email to the owner unless the event `key` was noticed before; returns whether it sent."""
    to = _owner_email(advertiser)
    if not to:
        logger.warning("advertiser %s has no email address; notice %s not sent", advertiser.id, key)
        return False
    try:
        with transaction.atomic():
            Notice.objects.create(advertiser=advertiser, key=key, to=to, subject=subject[:300])
            # Inside the transaction: a failed send leaves no Notice row, so the next run tries again.
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except IntegrityError:
        return False  # already sent (by an earlier run or another worker)
    return True


def notices_send(*, now: dt.datetime | None = None) -> int:
    """Sends every notice that is due; returns how many were sent. Written in the default language.
    `now` (default: now) sets the ad day whose recent spend the balance is compared with."""
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        sent += _advertiser_decisions() + _article_decisions() + _campaign_decisions()
        sent += _low_balances() + _campaigns_ending()
        sent += _budgets_spent() + _balances_running_out(today=ad_day(now))
    return sent


def _advertiser_decisions() -> int:
    sent = 0
    for advertiser in Advertiser.objects.filter(decided_at__isnull=False,
                                                status__in=[Advertiser.Status.ACTIVE, Advertiser.Status.REFUSED]):
        key = f"advertiser:{advertiser.id}:{advertiser.status}:{advertiser.decided_at.isoformat()}"
        if advertiser.status == Advertiser.Status.ACTIVE:
            subject = _("Your company account is approved")
            body = _("%(name)s can now submit articles and run campaigns in the enterprise portal.") % {
                "name": advertiser.name}
        else:
            subject = _("Your company application was refused")
            body = _("The application of %(name)s was refused: %(reason)s\nCorrect the details and contact our staff "
                     "to apply again.") % {"name": advertiser.name, "reason": advertiser.refusal_reason}
        sent += notice_send(advertiser=advertiser, key=key, subject=subject, body=body)
    return sent


def _article_decisions() -> int:
    sent = 0
    events = (ModerationEvent.objects.filter(article__owner__isnull=False, article__submission__isnull=False,
                                             action__in=["approve", "reject", "approve_revision", "reject_revision"])
              .exclude(id__in=_noticed_ids("article-event")).select_related("article", "article__owner"))
    for event in events:
        approved = event.action in ("approve", "approve_revision")
        subject = (_("Article approved: %(title)s") if approved else _("Article rejected: %(title)s")) % {
            "title": event.article.title[:200]}
        body = _("An editor approved “%(title)s”; it is published.") if approved else _(
            "An editor rejected “%(title)s”: %(reason)s\nEdit it in the portal and it goes back to review.")
        body = body % {"title": event.article.title, "reason": event.reason}
        sent += notice_send(advertiser=event.article.owner, key=f"article-event:{event.id}", subject=subject, body=body)
    return sent


def _campaign_decisions() -> int:
    sent = 0
    reviews = (CampaignReview.objects.exclude(id__in=_noticed_ids("campaign-review"))
               .select_related("campaign", "campaign__advertiser"))
    for review in reviews:
        approved = review.action == CampaignReview.Action.APPROVE
        subject = (_("Campaign approved: %(name)s") if approved else _("Campaign rejected: %(name)s")) % {
            "name": review.campaign.name[:200]}
        body = _("An editor approved “%(name)s” (%(parts)s).") if approved else _(
            "An editor rejected “%(name)s” (%(parts)s): %(reason)s\nChange it in the portal and submit it again.")
        parts = ", ".join(review.detail.get("keywords", []) + review.detail.get("promotions", [])) or "—"
        body = body % {"name": review.campaign.name, "parts": parts[:1000], "reason": review.reason}
        sent += notice_send(advertiser=review.campaign.advertiser, key=f"campaign-review:{review.id}",
                            subject=subject, body=body)
    return sent


def _low_balances() -> int:
    """One notice each time what is left to spend (the balance less the accrued CPM spend, as the
    portal shows it) falls below the threshold, whether a ledger entry or accrued spend took it there.
    Keyed by the last entry that left the balance at or above the threshold, so the flush that later
    moves the accrued spend into the ledger sends nothing more, and a top-up over it starts anew."""
    sent = 0
    limit = settings.AD_LOW_BALANCE
    for advertiser in (Advertiser.objects.annotate(left=F("balance") - F("accrued"))
                       .filter(status=Advertiser.Status.ACTIVE, left__lt=limit, ledger__isnull=False).distinct()):
        crossing = advertiser.ledger.filter(balance_after__gte=limit).order_by("-created_at", "-id").first()
        key = f"low-balance:{advertiser.id}:{crossing.id if crossing else 0}"
        if advertiser.accrued:
            body = _("What %(name)s has left to spend is %(left)s %(currency)s (a balance of %(balance)s less "
                     "%(accrued)s of viewable impressions not yet charged), below %(limit)s. Top it up so that "
                     "your campaigns keep running.")
        else:
            body = _("The balance of %(name)s is %(balance)s %(currency)s, below %(limit)s. Top it up so "
                     "that your campaigns keep running.")
        sent += notice_send(advertiser=advertiser, key=key, subject=_("Your balance is low"),
                            body=body % {"name": advertiser.name, "balance": advertiser.balance,
                                         "left": advertiser.left_to_spend, "accrued": advertiser.accrued,
                                         "currency": advertiser.currency, "limit": limit})
    return sent


def _campaigns_ending() -> int:
    sent = 0
    today = ad_day()
    horizon = today + dt.timedelta(days=settings.AD_CAMPAIGN_END_NOTICE_DAYS)
    for campaign in Campaign.objects.filter(end_date__gte=today, end_date__lte=horizon).exclude(
            status__in=[Campaign.Status.DRAFT, Campaign.Status.ARCHIVED, Campaign.Status.REJECTED]
    ).select_related("advertiser"):
        sent += notice_send(advertiser=campaign.advertiser, key=f"campaign-ending:{campaign.id}:{campaign.end_date}",
                            subject=_("Campaign ending soon: %(name)s") % {"name": campaign.name[:200]},
                            body=_("“%(name)s” ends on %(date)s. Move its end date in the portal to keep it running.")
                            % {"name": campaign.name, "date": campaign.end_date})
    return sent


def _noticed_ids(prefix: str):
    return [int(key.split(":")[1]) for key in Notice.objects.filter(key__startswith=prefix + ":")
            .values_list("key", flat=True)]


def _budgets_spent() -> int:
    """One notice per campaign and ad day out of its daily budget; one per total budget it ran out of."""
    sent = 0
    for campaign in Campaign.objects.filter(status__in=[Campaign.Status.OUT_OF_DAILY_BUDGET,
                                                        Campaign.Status.OUT_OF_BUDGET]).select_related("advertiser"):
        if campaign.status == Campaign.Status.OUT_OF_DAILY_BUDGET:
            key = f"out-of-daily-budget:{campaign.id}:{campaign.spend_day}"
            subject = _("Campaign out of today's budget: %(name)s") % {"name": campaign.name[:200]}
            body = _("“%(name)s” has spent its daily budget of %(budget)s %(currency)s for %(day)s and stops until the "
                     "next ad day starts (midnight, %(zone)s). Raise the daily budget in the portal to keep it running "
                     "today.") % {"name": campaign.name, "budget": campaign.daily_budget,
                                  "currency": campaign.advertiser.currency, "day": campaign.spend_day,
                                  "zone": settings.AD_TIME_ZONE}
        else:
            key = f"out-of-budget:{campaign.id}:{campaign.total_budget}"
            subject = _("Campaign out of its total budget: %(name)s") % {"name": campaign.name[:200]}
            body = _("“%(name)s” has spent its total budget of %(budget)s %(currency)s and has stopped. Raise the total "
                     "budget in the portal to run it again.") % {
                "name": campaign.name, "budget": campaign.total_budget, "currency": campaign.advertiser.currency}
        sent += notice_send(advertiser=campaign.advertiser, key=key, subject=subject, body=body)
    return sent


def average_daily_spend(*, advertiser_id: int, today: dt.date | None = None) -> Decimal:
    """The advertiser's spend per ad day over the last AD_SPEND_AVERAGE_DAYS ad days, or over the days
    since its first charge when that is fewer: its charges less credits in the ledger, plus the CPM
    spend its campaigns have accrued and the ledger has not yet received (the next flush's; counted
    as recent spend, today at the earliest, as the balance left to spend counts it)."""
    from ads.billing import decimal_sum  # noqa: PLC0415

    today = today or ad_day()
    since = today - dt.timedelta(days=settings.AD_SPEND_AVERAGE_DAYS - 1)
    entries = LedgerEntry.objects.filter(advertiser_id=advertiser_id, campaign__isnull=False, ad_day__gte=since,
                                         ad_day__lte=today)
    accrued = decimal_sum(Campaign.objects.filter(advertiser_id=advertiser_id, accrued__gt=0), "accrued")
    first = entries.order_by("ad_day").values_list("ad_day", flat=True).first()
    if first is None and not accrued:
        return Decimal(0)
    days = (today - (first or today)).days + 1
    return ((accrued - decimal_sum(entries, "amount")) / days).quantize(Decimal("0.0001"))


def _balances_running_out(*, today: dt.date) -> int:
    """Once per top-up: the balance left to spend (less the accrued CPM spend) is below
    AD_BALANCE_DAYS_LEFT days of recent spend (accrued spend included)."""
    sent = 0
    spenders = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE,
                                          ad_day__gte=today - dt.timedelta(days=settings.AD_SPEND_AVERAGE_DAYS - 1))
    for advertiser in Advertiser.objects.filter(Q(id__in=spenders.values("advertiser_id")) | Q(accrued__gt=0),
                                                status=Advertiser.Status.ACTIVE):
        average = average_daily_spend(advertiser_id=advertiser.id, today=today)
        left = advertiser.left_to_spend
        if average <= 0 or left >= average * settings.AD_BALANCE_DAYS_LEFT:
            continue
        top_up = advertiser.ledger.filter(kind=LedgerEntry.Kind.TOP_UP).order_by("-created_at", "-id").first()
        days = (left / average).quantize(Decimal("0.1"))
        sent += notice_send(
            advertiser=advertiser, key=f"balance-days:{advertiser.id}:{top_up.id if top_up else 0}",
            subject=_("Your balance lasts about %(days)s more days") % {"days": days},
            body=_("%(name)s has %(left)s %(currency)s left to spend, and has spent %(average)s %(currency)s a day "
                   "lately: about %(days)s days. Top it up so that your campaigns keep running.") % {
                "name": advertiser.name, "left": left.quantize(Decimal("0.01")), "currency": advertiser.currency,
                "average": average.quantize(Decimal("0.01")), "days": days})
    return sent
