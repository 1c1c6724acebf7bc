"""Shared setup for the tracking and billing tests: a running campaign with one keyword and one
promotion, and an auction result that serves it (built directly: these tests are about what happens
after the auction)."""
import datetime as dt
import itertools
from decimal import Decimal

from ads import services
from ads.auction import AuctionResult, Slot
from ads.events import Visitor
from ads.models import Advertiser, Campaign, CampaignKeyword, Placement, Promotion, Review
from contentlib.models import Article

# 12:00 in Shanghai (04:00 UTC) on 2026-12-01, and the day's last minute there.
NOON = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.timezone.utc)
LATE = dt.datetime(2026, 12, 1, 15, 59, tzinfo=dt.timezone.utc)
READER = Visitor(reader_key="r" * 32, ip_prefix="203.0.113.0", browser_family="Chrome", os_family="Windows")
BOT = Visitor(reader_key="b" * 32, ip_prefix="198.51.100.0", browser_family="Other", os_family="Other",
              invalid_reason="bot")

_n = itertools.count(1)


def make_campaign(*, pricing="cpc", bid="1.00", daily="100.00", total="1000.00", balance="1000.00",
                  advertiser=None, hours=(), frequency_cap=None) -> Campaign:
    n = next(_n)
    if advertiser is None:
        advertiser = Advertiser.objects.create(name=f"计费公司{n}", email=f"owner{n}@example.com")
        if Decimal(balance) > 0:  # a top-up in the ledger, so that the balance is the ledger's sum
            services.ledger_top_up(advertiser_id=advertiser.id, amount=balance, actor=None, note="test")
        advertiser.refresh_from_db()
    article = Article.objects.create(title=f"冷库设计方案 {n}", text="冷库设计与施工", origin=Article.Origin.SUBMITTED,
                                     owner=advertiser, status=Article.Status.APPROVED, language="zh")
    campaign = Campaign.objects.create(
        advertiser=advertiser, name=f"计费推广{n}", pricing=pricing, max_bid=Decimal(bid),
        daily_budget=Decimal(daily), total_budget=Decimal(total), start_date=dt.date(2026, 11, 1),
        status=Campaign.Status.ACTIVE, hours=list(hours), frequency_cap=frequency_cap)
    CampaignKeyword.objects.create(campaign=campaign, text="冷库设计", match_type="phrase", review=Review.APPROVED)
    Promotion.objects.create(campaign=campaign, article=article, review=Review.APPROVED)
    return campaign


def placement() -> Placement:
    # Made by the migration; made again after a transactional test's flush.
    return Placement.objects.get_or_create(slug="question", defaults={"kind": "question", "name": "Question page"})[0]


def result_for(*campaigns: Campaign, price=None) -> AuctionResult:
    """An auction result with one slot per campaign, each at `price` (default: its bid, per click or
    per impression)."""
    slots = []
    for position, campaign in enumerate(campaigns, start=1):
        promotion = campaign.promotions.get()
        keyword = campaign.keywords.get()
        unit = campaign.max_bid if campaign.pricing == "cpc" else (campaign.max_bid / 1000).quantize(Decimal("0.0001"))
        slots.append(Slot(
            position=position, campaign_id=campaign.id, campaign_name=campaign.name,
            advertiser_id=campaign.advertiser_id, advertiser_name=campaign.advertiser.name,
            article_id=promotion.article_id, promotion_id=promotion.id, title=promotion.article.title,
            pricing=campaign.pricing, bid=campaign.max_bid, price=Decimal(price) if price is not None else unit,
            score=1.0, relevance=0.9, keyword=keyword.text, keyword_id=keyword.id))
    return AuctionResult(slots=slots)
