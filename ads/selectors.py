"""Reads of the money half. Every portal read starts from the user's membership, so an enterprise
sees only its own articles, campaigns, keywords, ledger and users."""
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from ads.models import (
    Advertiser,
    AdvertiserUser,
    Campaign,
    CampaignKeyword,
    LedgerEntry,
    Promotion,
    Review,
    Submission,
    VerifiedDomain,
)
from contentlib.models import Article, ModerationEvent


def membership_of(user) -> AdvertiserUser | None:
    """The user's place in an advertiser, or None (staff, readers)."""
    if not user.is_authenticated:
        return None
    return AdvertiserUser.objects.select_related("advertiser", "user").filter(user=user).first()


def article_list(*, membership: AdvertiserUser) -> QuerySet[Article]:
    """The advertiser's own articles (submitted here or linked by editors), newest first."""
    return (Article.objects.filter(owner_id=membership.advertiser_id).select_related("submission", "category")
            .order_by("-created_at", "-id"))


def article_get(*, membership: AdvertiserUser, article_id: int) -> Article | None:
    return article_list(membership=membership).filter(id=article_id).first()


def article_history(*, article: Article) -> QuerySet[ModerationEvent]:
    return article.moderation_events.order_by("-created_at", "-id")


def article_counts(*, membership: AdvertiserUser) -> dict[str, int]:
    """Articles by status: {status: count}, every status present."""
    counts = dict(article_list(membership=membership).order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Article.Status.values}


def articles_promotable(*, membership: AdvertiserUser) -> QuerySet[Article]:
    return article_list(membership=membership).filter(status=Article.Status.APPROVED, duplicate_of__isnull=True)


def submission_get(*, membership: AdvertiserUser, article_id: int) -> Submission | None:
    return Submission.objects.filter(advertiser_id=membership.advertiser_id, article_id=article_id).first()


def campaign_list(*, membership: AdvertiserUser) -> QuerySet[Campaign]:
    return (Campaign.objects.filter(advertiser_id=membership.advertiser_id)
            .annotate(keyword_count=Count("keywords", filter=Q(keywords__archived=False, keywords__negative=False),
                                          distinct=True),
                      pending_parts=Count("keywords", filter=Q(keywords__archived=False,
                                                               keywords__review=Review.PENDING), distinct=True)
                      + Count("promotions", filter=Q(promotions__archived=False,
                                                     promotions__review=Review.PENDING), distinct=True))
            .order_by("-created_at", "-id"))


def campaign_get(*, membership: AdvertiserUser, campaign_id: int) -> Campaign | None:
    return campaign_list(membership=membership).filter(id=campaign_id).prefetch_related("categories").first()


def campaign_keywords(*, campaign: Campaign) -> QuerySet[CampaignKeyword]:
    return campaign.keywords.filter(archived=False).order_by("negative", "text", "match_type")


def campaign_promotions(*, campaign: Campaign) -> QuerySet[Promotion]:
    return campaign.promotions.filter(archived=False).select_related("article")


def ledger(*, membership: AdvertiserUser) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(advertiser_id=membership.advertiser_id).order_by("-created_at", "-id")


def ledger_sum(*, advertiser_id: int) -> Decimal:
    """The sum of the advertiser's ledger, exact to the cent, which its balance always equals.

    PostgreSQL sums numeric exactly. SQLite sums decimals as floats (Hypothesis found 86597.2599999997
    for 86597.26), so on SQLite the amounts are added up here as Decimals.
    """
    entries = LedgerEntry.objects.filter(advertiser_id=advertiser_id)
    if connection.vendor == "sqlite":
        return sum(entries.values_list("amount", flat=True), Decimal("0.00"))
    return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def members(*, membership: AdvertiserUser) -> QuerySet[AdvertiserUser]:
    return AdvertiserUser.objects.filter(advertiser_id=membership.advertiser_id).select_related("user")


def domains(*, membership: AdvertiserUser) -> QuerySet[VerifiedDomain]:
    return VerifiedDomain.objects.filter(advertiser_id=membership.advertiser_id)


def domain_get(*, membership: AdvertiserUser, domain_id: int) -> VerifiedDomain | None:
    return domains(membership=membership).filter(id=domain_id).first()


def campaigns_to_review() -> QuerySet[Campaign]:
    """Campaigns with something for editors: pending ones, and approved ones with changed parts."""
    return (Campaign.objects.select_related("advertiser")
            .filter(Q(status=Campaign.Status.PENDING)
                    | Q(keywords__review=Review.PENDING, keywords__archived=False)
                    | Q(promotions__review=Review.PENDING, promotions__archived=False))
            .exclude(status__in=[Campaign.Status.DRAFT, Campaign.Status.REJECTED, Campaign.Status.ARCHIVED])
            .distinct())


def advertisers_applied() -> QuerySet[Advertiser]:
    return Advertiser.objects.filter(status=Advertiser.Status.APPLIED).order_by("created_at")
