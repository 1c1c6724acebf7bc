"""Demo ad traffic: the `ads` section of the traffic generator (contentlib/traffic.py) written
through the real tracking and billing code, so that the reports of a fresh demo have shape.

Each "ad_view" event becomes an auction log row (with the published question of its query, when
there is one) and, unless nobody won, a served impression of one of the demo campaigns; then, by its
outcome, a viewability beacon, a click (valid, a bot's, too fast, over the address's limit or a
repeat) and a signed conversion postback. Afterwards the accrued CPM is flushed, the rollups of
every day recomputed, one billed click credited and an amount refunded to the first advertiser.

The ledger is append-only, so this runs once: campaigns that already have impressions are left
alone (`ad_traffic_write` says so and writes nothing).
"""
import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils import translation

from ads import billing, conversions, events, rollups, services
from ads.auction import AuctionResult, Slot
from ads.events import Visitor
from ads.models import AuctionLog, Campaign, Impression, LedgerEntry, Placement, Review
from contentlib.models import Question
from contentlib.readers import ad_day

CENT = Decimal("0.01")
# Visitors as ads.traffic would read them from the request.
BROWSERS = [("Chrome", "Windows"), ("WeChat", "iOS"), ("Safari", "Mac OS X"), ("Chrome Mobile", "Android"),
            ("Edge", "Windows"), ("UC Browser", "Android")]
INVALID = {"bot_click": "bot", "fast_click": "too_fast", "ip_limit_click": "ip_limit"}


@dataclass
class Written:
    auctions: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    days: int = 0
    skipped: str = ""


def _campaigns() -> list[Campaign]:
    """Running campaigns with an approved promotion and keyword: the demo's (or any local ones)."""
    return list(Campaign.objects.filter(status=Campaign.Status.ACTIVE, promotions__review=Review.APPROVED,
                                        promotions__archived=False).select_related("advertiser").distinct()
                .order_by("id"))


def _slot(campaign: Campaign, rng: random.Random, share: float) -> Slot:
    promotion = campaign.promotions.filter(review=Review.APPROVED, archived=False).select_related("article").first()
    keywords = list(campaign.keywords.filter(negative=False, archived=False, review=Review.APPROVED).order_by("id"))
    keyword = rng.choice(keywords) if keywords else None
    bid = keyword.bid if keyword and keyword.bid else campaign.max_bid
    if campaign.pricing == Campaign.Pricing.CPC:
        price = max(Decimal("0.30"), (bid * Decimal(str(share))).quantize(CENT, rounding=ROUND_HALF_UP))
    else:
        price = (bid * Decimal(str(share)) / 1000).quantize(Decimal("0.0001"))
    return Slot(position=1, campaign_id=campaign.id, campaign_name=campaign.name, advertiser_id=campaign.advertiser_id,
                advertiser_name=campaign.advertiser.name, article_id=promotion.article_id, promotion_id=promotion.id,
                title=promotion.headline or promotion.article.title, pricing=campaign.pricing, bid=bid, price=price,
                score=1.0, relevance=0.8, keyword=keyword.text if keyword else "",
                keyword_id=keyword.id if keyword else None)


def _placement(slug: str) -> Placement:
    kind = slug if slug in Placement.Kind.values else Placement.Kind.QUESTION
    with translation.override(None):  # stored in English, as the migrations store theirs (shown by Placement.label)
        name = str(Placement.Kind(kind).label)
    return Placement.objects.get_or_create(slug=slug, defaults={"kind": kind, "name": name})[0]


def ad_traffic_write(view_events: Iterable, *, staff, refund: str = "0", seed: int = 0) -> Written:
    """Writes the generator's "ad_view" events for the running campaigns (see the module's docstring)."""
    done = Written()
    campaigns = _campaigns()
    if not campaigns:
        done.skipped = "no running campaign with an approved promotion"
        return done
    if Impression.objects.filter(campaign__in=campaigns).exists():
        done.skipped = "the campaigns have impressions already (the ledger is append-only: run once)"
        return done
    rng = random.Random(seed)
    questions = dict(Question.objects.filter(status=Question.Status.PUBLISHED).values_list("normalized_text", "id"))
    placements: dict[str, Placement] = {}
    days: set[dt.date] = set()
    billed_clicks = []
    for event in view_events:
        placement = placements.get(event.placement) or placements.setdefault(event.placement,
                                                                               _placement(event.placement))
        at = event.at.astimezone(dt.timezone.utc)
        day = ad_day(at)
        days.add(day)
        browser, os_family = BROWSERS[int(event.reader_key[:4], 16) % len(BROWSERS)]
        visitor = Visitor(reader_key=event.reader_key, ip_prefix=f"203.0.{int(event.reader_key[4:6], 16)}.0",
                          browser_family=browser, os_family=os_family,
                          invalid_reason=INVALID.get(event.outcome, ""))
        campaign = campaigns[int(event.reader_key[6:10], 16) % len(campaigns)]
        log = AuctionLog.objects.create(placement=placement, question_id=questions.get(event.query),
                                        question_text=event.query[:500], ad_day=day, floor=0.2, reader_key="",
                                        filled=0 if event.outcome == "no_fill" else 1, candidates=len(campaigns))
        AuctionLog.objects.filter(id=log.id).update(created_at=at)
        done.auctions += 1
        if event.outcome == "no_fill":
            continue
        result = AuctionResult(slots=[_slot(campaign, rng, event.price_share)], log_id=log.id)
        served = events.impressions_serve(result=result, placement=placement, visitor=visitor, now=at)[0]
        done.impressions += 1
        if event.outcome == "view":
            continue
        if visitor.invalid_reason == "":
            events.viewable_record(impression_id=served.impression_id, at=at + dt.timedelta(seconds=2))
        if event.outcome == "viewable":
            continue
        delay = dt.timedelta(seconds=0.2 if event.outcome == "fast_click" else rng.randint(4, 40))
        outcome = events.click_record(impression_id=served.impression_id, visitor=visitor, at=at + delay)
        done.clicks += 1
        if outcome.billed:
            billed_clicks.append(outcome.click_id)
        if event.outcome == "repeat_click":
            events.click_record(impression_id=served.impression_id, visitor=visitor, at=at + delay * 2)
            done.clicks += 1
        if event.outcome == "convert":
            clid = outcome.click_id.hex
            secret = conversions.secret_get(advertiser_id=campaign.advertiser_id)
            value = f"{rng.choice([199, 299, 580, 1200, 3600])}.00"
            conversions.conversion_record(
                report=conversions.Report(click_id=clid, goal="purchase", value=value,
                                          signature=conversions.sign(secret=secret, click_id=clid, goal="purchase",
                                                                     value=value)),
                client=f"demo-{campaign.advertiser_id}", source="postback", at=at + dt.timedelta(hours=2))
            done.conversions += 1
    billing.cpm_flush()
    if billed_clicks:
        billing.event_credit(event=f"click:{billed_clicks[len(billed_clicks) // 2]}", actor=staff,
                             reason="演示：事后判定为无效点击 / demo: found invalid later")
    if Decimal(refund) > 0:
        advertiser_id = campaigns[0].advertiser_id
        if LedgerEntry.objects.filter(Q(advertiser_id=advertiser_id) & ~Q(kind="refund")).exists():
            services.ledger_reverse(advertiser_id=advertiser_id, kind=LedgerEntry.Kind.REFUND, amount=refund,
                                    actor=staff, reason="演示退款 / demo refund")
    for day in sorted(days):
        rollups.rollups_recompute(day=day)
    done.days = len(days)
    return done
