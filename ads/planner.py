"""The keyword planner: keywords worth a bid, with what stands behind each, for one advertiser.

Given seed keywords or one of the advertiser's own articles, suggestions come from

- the article's extracted keywords (enrichment's, best first);
- the co-search neighbours of the seeds (the active co-occurrence model, query → query);
- logged queries close to the seeds: those that contain a seed, or that are a published question
  whose stored vector is close to a seed's (e5 cosine ≥ CLOSE_COSINE).

A logged query is suggested only when at least PLANNER_MIN_READERS reader sessions searched it in
the window, so that what one reader typed never reaches an advertiser. For every suggestion:

- estimated daily searches: searches and questions asked with exactly this normalized text over
  the last 30 days, divided by 30;
- competing campaigns: other advertisers' approved campaigns (not archived or rejected) with an
  approved keyword of this text;
- a suggested bid: the median and 80th percentile of the prices winners paid on this keyword in
  the window (the campaign's pricing), only when at least MIN_ADVERTISERS other advertisers and
  MIN_AUCTIONS auctions stand behind it, otherwise "not enough data". No advertiser's name, bid or
  count of its own is ever part of a suggestion.
"""
import datetime as dt
import logging
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from ads.models import AdvertiserUser, AuctionLog, Campaign, CampaignKeyword, Review
from contentlib.errors import ApplicationError
from contentlib.models import Article, ArticleKeyword, Question
from contentlib.text import normalize_query
from recommender.embeddings import from_bytes
from recommender.models import ReaderActivity

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
MIN_ADVERTISERS = 5
MIN_AUCTIONS = 20
PLANNER_MIN_READERS = 5
CLOSE_COSINE = 0.85
MAX_SEEDS = 20
SEARCH_KINDS = (ReaderActivity.Kind.SEARCH, ReaderActivity.Kind.QUESTION_ASK)
COMPETING = (Campaign.Status.PENDING, Campaign.Status.ACTIVE, Campaign.Status.PAUSED,
             Campaign.Status.OUT_OF_DAILY_BUDGET, Campaign.Status.OUT_OF_BUDGET)


@dataclass
class Suggestion:
    keyword: str
    source: str  # seed | article | co_search | close
    daily_searches: float
    competing_campaigns: int
    bid_median: str | None  # CNY, None: not enough data
    bid_p80: str | None
    auctions: int  # auctions won on it in the window (0 unless enough data: a small count is a tell)
    in_campaign: bool

    @property
    def source_label(self) -> str:
        return {"seed": _("your seed"), "article": _("your article's keywords"),
                "co_search": _("searched by the same readers"), "close": _("close searches")}[self.source]

    def as_json(self) -> dict:
        return {**asdict(self), "source_label": self.source_label}


def _since(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=WINDOW_DAYS)


def searches_by_query(*, since: dt.datetime, queries=None) -> dict[str, tuple[int, int]]:
    """{normalized query: (searches, distinct reader sessions)} in the activity log since `since`."""
    rows = ReaderActivity.objects.filter(kind__in=SEARCH_KINDS, at__gte=since).exclude(query="")
    if queries is not None:
        rows = rows.filter(query__in=list(queries))
    return {r["query"]: (r["n"], r["readers"]) for r in rows.values("query").order_by()
            .annotate(n=Count("id"), readers=Count("reader_key", distinct=True))}


def _seed_vectors(seeds: list[str]) -> list[tuple[np.ndarray, str]]:
    from recommender.retrieval import _query_vector  # noqa: PLC0415 - loads the embedding model on use
    from recommender.embeddings import model_name  # noqa: PLC0415

    try:
        model = model_name()
        return [(v, model) for v in (_query_vector(seed) for seed in seeds) if v is not None]
    except (RuntimeError, OSError) as error:
        logger.warning("keyword planner: no seed vectors (%s); close searches by words only", error)
        return []


def _close_queries(seeds: list[str], frequent: dict[str, tuple[int, int]]) -> list[str]:
    """Frequent logged queries that contain a seed, or are a published question close to a seed."""
    close = [q for q in frequent if any(seed in q for seed in seeds) and q not in seeds]
    questions = list(Question.objects.filter(status=Question.Status.PUBLISHED, normalized_text__in=list(frequent))
                     .exclude(vector=None).values_list("normalized_text", "vector", "vector_model"))
    if questions:
        for vector, model in _seed_vectors(seeds):
            for text, stored, stored_model in questions:
                stored = from_bytes(stored)
                if stored_model == model and stored is not None and len(stored) == len(vector) \
                        and float(stored @ vector) >= CLOSE_COSINE and text not in close and text not in seeds:
                    close.append(text)
    return sorted(close, key=lambda q: -frequent[q][0])


def _bids(*, keywords: set[str], pricing: str, own_advertiser: int, since: dt.datetime) -> dict[str, tuple]:
    """{keyword: (median, p80, auctions)} from the winners' rows of the auction log, for keywords
    with enough other advertisers and auctions behind them."""
    prices: dict[str, list[Decimal]] = {}
    advertisers: dict[str, set[int]] = {}
    auctions: dict[str, set[int]] = {}
    for auction_id, winners in AuctionLog.objects.filter(created_at__gte=since, filled__gt=0).values_list("id", "winners"):
        for row in winners or []:
            keyword = row.get("keyword")
            if keyword not in keywords or row.get("pricing") != pricing or row.get("advertiser") == own_advertiser:
                continue
            if row.get("price") is None:
                continue
            prices.setdefault(keyword, []).append(Decimal(row["price"]))
            advertisers.setdefault(keyword, set()).add(row.get("advertiser"))
            auctions.setdefault(keyword, set()).add(auction_id)
    out = {}
    for keyword, paid in prices.items():
        if len(advertisers[keyword]) >= MIN_ADVERTISERS and len(auctions[keyword]) >= MIN_AUCTIONS:
            values = np.asarray([float(p) for p in paid])
            step = Decimal("0.0001") if pricing == Campaign.Pricing.CPM else Decimal("0.01")
            out[keyword] = (Decimal(str(np.percentile(values, 50))).quantize(step),
                            Decimal(str(np.percentile(values, 80))).quantize(step), len(auctions[keyword]))
    return out


def _competing(*, keywords: set[str], own_advertiser: int) -> dict[str, int]:
    rows = (CampaignKeyword.objects.filter(text__in=list(keywords), negative=False, archived=False, review=Review.APPROVED,
                                           campaign__status__in=COMPETING)
            .exclude(campaign__advertiser_id=own_advertiser).values("text").order_by()
            .annotate(n=Count("campaign", distinct=True)))
    return {r["text"]: r["n"] for r in rows}


def keyword_plan(*, membership: AdvertiserUser, campaign: Campaign, seeds: str = "", article_id: int | None = None,
                 limit: int = 40, now: dt.datetime | None = None) -> list[Suggestion]:
    """Suggestions for the campaign from seed keywords (one a line or comma-separated) and/or one of
    the advertiser's own articles; refuses a request with neither, or another advertiser's article."""
    from recommender.cooccurrence import model_current  # noqa: PLC0415 - numpy/scipy model, loaded on use

    if campaign.advertiser_id != membership.advertiser_id:
        raise ApplicationError(_("There is no campaign #%(id)s in your account.") % {"id": campaign.id}, {"code": "not_found"})
    now = now or timezone.now()
    since = _since(now)
    given = (seeds or "").replace("，", ",").replace(",", "\n").splitlines()
    seed_list = list(dict.fromkeys(filter(None, (normalize_query(s) for s in given))))[:MAX_SEEDS]
    found: dict[str, str] = {seed: "seed" for seed in seed_list}
    if article_id is not None:
        if not Article.objects.filter(id=article_id, owner_id=membership.advertiser_id).exists():
            raise ApplicationError(_("There is no article #%(id)s in your account. Choose one of your own articles.")
                                   % {"id": article_id}, {"field": "article"})
        for link in ArticleKeyword.objects.filter(article_id=article_id).select_related("keyword").order_by("rank"):
            found.setdefault(normalize_query(link.keyword.text), "article")
    if not found:
        raise ApplicationError(_("Give at least one seed keyword, or choose one of your articles, to get suggestions."),
                               {"field": "seeds"})
    frequent = {q: v for q, v in searches_by_query(since=since).items() if v[1] >= PLANNER_MIN_READERS}
    model = model_current()
    for seed in list(found):
        for neighbour in (model.related_queries(seed, limit=20) if model else []):
            if neighbour.item in frequent:
                found.setdefault(neighbour.item, "co_search")
    given = [k for k, source in found.items() if source in ("seed", "article")]  # not the neighbours' neighbours
    for query in _close_queries(given, frequent):
        found.setdefault(query, "close")
    chosen = list(found)[:limit]
    keywords = set(chosen)
    searches = searches_by_query(since=since, queries=keywords)
    competing = _competing(keywords=keywords, own_advertiser=membership.advertiser_id)
    bids = _bids(keywords=keywords, pricing=campaign.pricing, own_advertiser=membership.advertiser_id, since=since)
    mine = set(campaign.keywords.filter(archived=False, negative=False).values_list("text", flat=True))
    out = []
    for keyword in chosen:
        median, p80, auctions = bids.get(keyword, (None, None, 0))
        out.append(Suggestion(
            keyword=keyword, source=found[keyword],
            daily_searches=round(searches.get(keyword, (0, 0))[0] / WINDOW_DAYS, 1),
            competing_campaigns=competing.get(keyword, 0),
            bid_median=None if median is None else str(median), bid_p80=None if p80 is None else str(p80),
            auctions=auctions, in_campaign=keyword in mine))
    return out
