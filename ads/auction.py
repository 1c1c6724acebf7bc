"""The placement auction: which sponsored articles a reader sees beside an answer, and what each costs.

    match keywords ─▶ negatives, language ─▶ relevance ─▶ floor ─▶ eligibility (fresh state) ─▶ rank
        ─▶ second price ─▶ log

Relevance gates the auction before price does: a candidate whose promoted article does not fit the
question and its answer (P(fit) under the floor) gets no slot at any bid. P(fit) is a logistic model
of the cosine of the question's vector (plus a weight of the answer's) to the promoted article's
stored embedding and of the share of the question's words the article holds, calibrated on the dev
half of the judged set (`manage.py sponsored_relevance --tune`, saved in auction_tuning.json), as
search's "nothing fits" is.

No embedding model runs here: the vectors come with the answer (`answer_question` stores them).
The campaigns, keywords, promotions and vectors are held in a per-process `CampaignBook`, rebuilt
when they change (checked at most every AD_AUCTION_BOOK_SECONDS); what changes by the minute
(status, bids, budgets, hours, balance) is read fresh at every auction for the campaigns over the
relevance floor.
"""
import gc
import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db.models import Case, Count, IntegerField, Max, OuterRef, Q, Subquery, Sum, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ads import billing
from ads.matching import EXACT, KeywordMatcher, KeywordRule, Matches
from ads.models import (
    Advertiser,
    AuctionLog,
    Campaign,
    CampaignDailyRollup,
    CampaignKeyword,
    Impression,
    Placement,
    Promotion,
    Review,
)
from contentlib.errors import ApplicationError
from contentlib.models import Article, Question
from contentlib.text import normalize_query
from recommender.embeddings import from_bytes
from recommender.text import Segmenter, detect_language

logger = logging.getLogger(__name__)

TUNING_FILE = Path(__file__).with_name("auction_tuning.json")
CENT = Decimal("0.01")
MILLI_CENT = Decimal("0.0001")  # a CPM price is kept to this, per impression
THOUSAND = Decimal(1000)

# Campaign statuses kept in the book (so that an explanation can say "paused"); only ACTIVE serves.
BOOK_STATUSES = (Campaign.Status.ACTIVE, Campaign.Status.PAUSED, Campaign.Status.OUT_OF_DAILY_BUDGET,
                 Campaign.Status.OUT_OF_BUDGET, Campaign.Status.ENDED)

# Why a candidate did not get a slot, in the order they are checked.
REASONS = {
    "won": _("Shown."),
    "not_in_book": _("The campaign is not running: it is a draft, pending review, rejected or archived."),
    "no_keyword": _("No approved keyword of the campaign matched this question or its answer."),
    "advertiser_status": _("The advertiser's account is not active (awaiting approval, suspended or closed)."),
    "status": _("The campaign is not running (paused or ended). Resume it in the portal."),
    "daily_budget": _("The campaign is out of its daily budget; it resumes on the next ad day."),
    "budget": _("The campaign is out of its total budget. Raise the budget to resume it."),
    "schedule": _("Outside the campaign's start and end dates."),
    "hours": _("Outside the campaign's hours of the day (business time zone)."),
    "language": _("The question's language is not one the campaign targets."),
    "category": _("The question's category is not one the campaign targets."),
    "balance": _("The advertiser's balance cannot pay for one more click or impression. Top up the balance."),
    "frequency_cap": _("This reader has seen the campaign as often today as its frequency cap allows."),
    "paced": _("Held back by daily pacing: today's spend is ahead of the share of the day's running hours gone by. It is shown again later today."),
    "reserve": _("The bid is below this placement's reserve price. Raise the bid."),
    "negative_keyword": _("One of the campaign's negative keywords is in the question."),
    "no_promotion": _("The campaign has no approved, published promoted article with an embedding."),
    "cited": _("The promoted article is a reference of the answer: a reference is never sold."),
    "floor": _("The promoted article does not fit the question and its answer well enough (under the relevance floor); no bid buys past it."),
    "advertiser_shown": _("Another campaign of the same advertiser ranked higher here; one slot per advertiser."),
    "rank": _("Other campaigns ranked higher for every slot (bid × expected click rate × relevance)."),
}


FEATURES = ("cosine", "coverage")


@dataclass(frozen=True)
class FitModel:
    """P(a promoted article fits) = logistic(b0 + b1·cosine + b2·coverage), where cosine is the
    similarity of the article's stored embedding to the question's vector plus `answer_weight` times
    the answer's (normalized), and coverage the share of the question's words, weighted by their
    rarity in the library (`idf` "library") or among the promoted articles, that the article's
    stored tokens hold. (Features tried on the
    dev half and dropped for overfitting: the answer's cosine on its own, whether a keyword matched
    in the question or whole, its length; docs/BENCHMARKS.md.)"""

    coef: tuple[float, float, float] = (-20.0, 20.0, 4.0)
    floor: float = 0.5
    answer_weight: float = 0.0
    unknown_weight: float | None = None  # see CampaignBook.coverage_weights
    # Whose rarity weighs the question's words in coverage: "library" (every approved article's
    # document frequency, CampaignBook.library) or "promoted" (the promoted articles' only).
    idf: str = "promoted"

    def probability(self, features: Sequence[float]) -> float:
        z = self.coef[0] + sum(b * x for b, x in zip(self.coef[1:], features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@lru_cache(maxsize=1)
def tuned_fit() -> FitModel:
    if not TUNING_FILE.exists():
        return FitModel()
    data = json.loads(TUNING_FILE.read_text(encoding="utf-8"))
    return FitModel(coef=tuple(data["fit_coef"]), floor=float(data["floor"]),
                    answer_weight=float(data.get("answer_weight", 0.0)), unknown_weight=data.get("unknown_weight"),
                    idf=data.get("idf", "promoted"))


@dataclass(frozen=True)
class Promoted:
    promotion_id: int
    article_id: int
    title: str  # the headline, or the article's title
    row: int  # its vector's row in the book's matrix
    tokens: frozenset[str] = frozenset()  # the article's stored tokens (as enrichment segmented it)
    landing_url: str = ""  # the promotion's verified landing URL, or "" (the article's page here)


@dataclass
class CampaignState:
    """What changes by the minute; read fresh at every auction for the campaigns over the floor."""

    status: str
    advertiser_status: str
    balance: Decimal
    max_bid: Decimal
    daily_budget: Decimal
    total_budget: Decimal
    start_date: object
    end_date: object
    hours: frozenset[int]
    languages: frozenset[str]
    spend_today: Decimal = Decimal(0)  # on ad day `spend_day` (the tracking counters, ads.billing)
    spend_day: object = None
    spend_total: Decimal = Decimal(0)
    accrued: Decimal = Decimal(0)  # the advertiser's accrued CPM spend, owed from the balance
    frequency_cap: int | None = None  # impressions per reader key and ad day


@dataclass
class BookCampaign:
    id: int
    name: str
    advertiser_id: int
    advertiser_name: str
    pricing: str
    category_ids: frozenset[int]
    promotions: list[Promoted]
    state: CampaignState


class CampaignBook:
    """Every campaign that may run, its keywords in one automaton, and its promoted articles' vectors."""

    def __init__(self, campaigns: Iterable[BookCampaign], rules: Iterable[KeywordRule], vectors: np.ndarray,
                 seg: Segmenter, fingerprint: tuple = (), library: tuple[int, dict[str, int]] | None = None):
        self.campaigns = {c.id: c for c in campaigns}
        # (approved articles, {token: how many hold it}) of the whole library, when known: the
        # rarity that weighs a question's words in coverage (FitModel.idf "library").
        self.library = library
        self.matcher = KeywordMatcher(rules, seg)
        self.vectors = vectors
        self.fingerprint = fingerprint
        self.built_at = time.monotonic()
        # The campaigns as arrays, one position each (`order`), so that the thousand-odd campaigns a
        # question matches are filtered and scored without a Python object each: their ids,
        # advertisers, whether they target languages, and their promoted articles (CSR: campaign
        # position i holds promotions promo_start[i]:promo_start[i + 1] of `promoted`).
        self.order = list(self.campaigns.values())
        self.position = position = {c.id: i for i, c in enumerate(self.order)}
        self.campaign_ids = np.array([c.id for c in self.order], dtype=np.int64)
        self.advertiser_ids = np.array([c.advertiser_id for c in self.order], dtype=np.int64)
        self.targets_languages = np.array([bool(c.state.languages) for c in self.order], dtype=bool)
        self.promoted = [p for c in self.order for p in c.promotions]
        self.promo_start = np.cumsum([0] + [len(c.promotions) for c in self.order], dtype=np.int64)
        self.promo_rows = np.array([p.row for p in self.promoted], dtype=np.int64)
        self.promo_articles = np.array([p.article_id for p in self.promoted], dtype=np.int64)
        # Each keyword rule's campaign position (-1: a campaign not in the book).
        self.rule_positions = np.array([position.get(r.campaign_id, -1) for r in self.matcher.rules], dtype=np.int64)
        # Which of its words each promoted article holds (a sparse 0/1 matrix, one row per vector
        # row), and their document frequencies: a word every ad holds says little.
        from scipy.sparse import csr_matrix  # noqa: PLC0415

        rows = {p.row: p.tokens for c in self.campaigns.values() for p in c.promotions}
        self.vocabulary: dict[str, int] = {}
        indptr, indices = [0], []
        for row in range(len(vectors)):
            for token in rows.get(row, ()):
                indices.append(self.vocabulary.setdefault(token, len(self.vocabulary)))
            indptr.append(len(indices))
        self.token_matrix = csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                                       shape=(len(vectors), max(len(self.vocabulary), 1)))
        # By word: the vector rows that hold it (a question has a few words; gathering their rows
        # costs less than slicing the matrix by the candidates' rows).
        by_word = self.token_matrix.tocsc()
        self._word_rows = (by_word.indptr, by_word.indices)
        self.documents = len(rows)
        counts = np.bincount(indices, minlength=len(self.vocabulary)) if indices else np.zeros(0, dtype=int)
        self.doc_freqs: dict[str, int] = {t: int(counts[i]) for t, i in self.vocabulary.items()}

    def state_set(self, campaign_id: int, state: CampaignState) -> None:
        """Replaces a campaign's state with one read fresh (and what the arrays keep of it)."""
        campaign = self.campaigns[campaign_id]
        if bool(state.languages) != bool(campaign.state.languages):
            self.targets_languages[self.position[campaign_id]] = bool(state.languages)
        campaign.state = state

    def coverages(self, weights: dict[str, float], rows) -> np.ndarray:
        """For each vector row, the share of the question's weighted words its article's tokens hold."""
        total = sum(weights.values())
        known = [(self.vocabulary[t], w) for t, w in weights.items() if t in self.vocabulary]
        if not total or not known or not len(rows):
            return np.zeros(len(rows), dtype=np.float64)
        indptr, indices = self._word_rows
        held = np.zeros(len(self.vectors), dtype=np.float64)
        for column, weight in known:
            held[indices[indptr[column]:indptr[column + 1]]] += weight
        return held[rows] / total

    def coverage_weights(self, question_tokens: Iterable[str], unknown_weight: float | None = None,
                         idf: str = "promoted") -> dict[str, float]:
        """Each question word's weight: its idf among the library's approved articles (`idf`
        "library", when the book was given the library's frequencies) or among the promoted
        articles; a word that none of them holds (often the question's own phrasing: 咋整, 贵不贵)
        weighs `unknown_weight` when one is given. By the library's idf a word common in the
        library's articles (就业, 价格, 公司) weighs little even when few ads hold it: a bid
        word plus a generic one no longer covers most of a trap question."""
        if idf == "library" and self.library is not None:
            n, freqs = self.library
        else:
            n, freqs = self.documents, self.doc_freqs
        out = {}
        for t in set(question_tokens):
            df = freqs.get(t, 0)
            out[t] = unknown_weight if df == 0 and unknown_weight is not None else math.log(1.0 + (n + 1) / (df + 0.5))
        return out


# --- results ------------------------------------------------------------------------------------

@dataclass
class Slot:
    position: int
    campaign_id: int
    campaign_name: str
    advertiser_id: int
    advertiser_name: str  # always shown with the 广告 / Sponsored label
    article_id: int
    promotion_id: int
    title: str
    pricing: str
    bid: Decimal
    price: Decimal  # CPC: per click (0.01); CPM: per impression (0.0001)
    score: float
    relevance: float
    keyword: str
    keyword_id: int | None = None  # the matched keyword that set the bid (tracking charges it)
    landing_url: str = ""

    @property
    def label(self) -> str:
        return str(_("Sponsored"))


@dataclass
class Outcome:
    """One candidate's fate: a reason code (REASONS) and the scores it got that far."""

    campaign_id: int
    advertiser_id: int
    reason: str
    keyword: str = ""
    bid: Decimal | None = None
    relevance: float | None = None
    score: float | None = None
    article_id: int | None = None
    features: tuple[float, ...] | None = None  # (cosine, coverage) of its best promoted article
    keyword_id: int | None = None

    @property
    def message(self) -> str:
        return str(REASONS[self.reason])


@dataclass
class AuctionResult:
    slots: list[Slot] = field(default_factory=list)
    known: dict[int, Outcome] = field(default_factory=dict)  # candidates that did not stop at the floor
    floor: float = 0.0
    language: str = ""
    log_id: int | None = None
    # Candidates under the floor, kept as arrays (most of them, in a large book): their campaign ids,
    # best promoted article ids, relevance, cosine and coverage; `outcomes` makes Outcome rows of them.
    floored: tuple = ((), (), (), (), (), ())
    _all: dict[int, Outcome] | None = None

    @property
    def candidates(self) -> int:
        return len(self.known) + len(self.floored[0])

    @property
    def outcomes(self) -> dict[int, Outcome]:
        """Every candidate's outcome, by campaign id."""
        if self._all is None:
            ids, advertisers, articles, relevance, cosine, covered = (np.asarray(a).tolist() for a in self.floored)
            self._all = dict(self.known)
            for i, campaign_id in enumerate(ids):
                self._all[campaign_id] = Outcome(campaign_id, advertisers[i], "floor", relevance=relevance[i],
                                                 article_id=articles[i], features=(cosine[i], covered[i]))
        return self._all

    @property
    def lowest_winning_score(self) -> float | None:
        return min((s.score for s in self.slots), default=None)


# --- the auction itself (no database) -----------------------------------------------------------

@dataclass(frozen=True)
class Terms:
    """A placement's slots, reserves and CTR prior (from a Placement row, or given by an evaluation)."""

    slots: int = 2
    reserve_cpc: Decimal = Decimal("0.30")
    reserve_cpm: Decimal = Decimal("5.00")
    ctr_prior_clicks: float = 1.0
    ctr_prior_impressions: float = 50.0

    @classmethod
    def of(cls, placement: Placement) -> "Terms":
        return cls(slots=placement.slots, reserve_cpc=placement.reserve_cpc, reserve_cpm=placement.reserve_cpm,
                   ctr_prior_clicks=placement.ctr_prior_clicks, ctr_prior_impressions=placement.ctr_prior_impressions)

    @property
    def ctr(self) -> float:
        """The Beta prior's mean: the predicted CTR of a campaign with no clicks recorded yet."""
        return self.ctr_prior_clicks / self.ctr_prior_impressions

    def ctr_with(self, served: int, clicks: int) -> float:
        """The predicted CTR after `clicks` valid clicks in `served` impressions: the Beta posterior's
        mean, so that a new campaign starts at the prior and its own record takes over as it grows."""
        return (self.ctr_prior_clicks + clicks) / (self.ctr_prior_impressions + served)


def _unit_cost(pricing: str, bid: Decimal) -> Decimal:
    """The most one click (CPC) or one impression (CPM) can cost at this bid."""
    return bid if pricing == Campaign.Pricing.CPC else (bid / THOUSAND).quantize(MILLI_CENT, ROUND_FLOOR)


def _eligibility(campaign: BookCampaign, *, terms: Terms, language: str, category_ids: frozenset[int],
                 local_now, bid: Decimal) -> str | None:
    """The reason the campaign may not take part now, or None."""
    state = campaign.state
    if state.advertiser_status != Advertiser.Status.ACTIVE:
        return "advertiser_status"
    if state.status == Campaign.Status.OUT_OF_DAILY_BUDGET:
        return "daily_budget"
    if state.status == Campaign.Status.OUT_OF_BUDGET:
        return "budget"
    if state.status != Campaign.Status.ACTIVE:
        return "status"
    today = local_now.date()
    if today < state.start_date or (state.end_date is not None and today > state.end_date):
        return "schedule"
    if state.hours and local_now.hour not in state.hours:
        return "hours"
    if state.languages and language not in state.languages:
        return "language"
    if campaign.category_ids and category_ids and not (campaign.category_ids & category_ids):
        return "category"
    unit = _unit_cost(campaign.pricing, bid)
    # The balance (less CPM spend accrued but not yet charged) and the budgets must cover one more
    # click or impression at its bid; today's spend must be within the daily pacing allowance.
    if state.balance - state.accrued < unit:
        return "balance"
    spent_today = state.spend_today if state.spend_day == today else Decimal(0)
    if state.total_budget - state.spend_total < unit:
        return "budget"
    if state.daily_budget - spent_today < unit:
        return "daily_budget"
    if not billing.pace_allows(spend_today=spent_today, daily_budget=state.daily_budget, hours=state.hours,
                               at=local_now):
        return "paced"
    reserve = terms.reserve_cpc if campaign.pricing == Campaign.Pricing.CPC else terms.reserve_cpm
    if bid < reserve:
        return "reserve"
    return None


def _bid_of(campaign: BookCampaign, rules: list[KeywordRule]) -> tuple[Decimal, str, int]:
    """The bid of the best-paying matched keyword (its own bid, else the campaign's), its text and id."""
    best = max(rules, key=lambda r: (r.bid or campaign.state.max_bid, r.match == EXACT, r.text))
    return best.bid or campaign.state.max_bid, best.text, best.keyword_id


def gsp_price(*, pricing: str, bid: Decimal, quality: float, next_score: float, reserve: Decimal) -> Decimal:
    """The least this winner could have bid and kept its rank: the next score over its own quality
    (CTR × relevance for CPC, relevance / 1000 for CPM), at least the reserve, at most its own bid.
    CPC: CNY per click, rounded up to 0.01. CPM: CNY per impression, rounded up to 0.0001."""
    # Scores are floats: the quotient is first rounded to a millionth, so that float noise
    # (20.000000000003) does not round a price up by a whole step.
    needed = (Decimal(repr(next_score / quality)).quantize(Decimal("0.000001"))
              if quality > 0 and next_score > 0 else Decimal(0))
    if pricing == Campaign.Pricing.CPC:
        price = max(needed, reserve).quantize(CENT, ROUND_CEILING)
        return min(price, bid)
    # For CPM, `needed` is per thousand impressions like the bid; the price is per impression.
    price = (max(needed, reserve) / THOUSAND).quantize(MILLI_CENT, ROUND_CEILING)
    return min(price, (bid / THOUSAND).quantize(MILLI_CENT, ROUND_FLOOR))


def auction_run(book: CampaignBook, *, terms: Terms, question: str, answer_text: str,
                question_vector: np.ndarray | None, answer_vector: np.ndarray | None, now,
                cited_article_ids: Sequence[int] = (), category_ids: Iterable[int] = (),
                fit: FitModel | None = None, matches: Matches | None = None,
                refresh: Callable[[list[int]], set[int] | None] | None = None,
                ctr: Callable[[int], float] | None = None) -> AuctionResult:
    """The auction over `book`: slots, prices and every candidate's outcome. No database and no
    model; `refresh(campaign_ids)`, when given, brings the state of the campaigns that passed the
    relevance floor up to date before their eligibility is checked (placement_auction reads it) and
    returns those the reader has seen as often today as their frequency cap allows; `ctr(campaign_id)`
    is a campaign's predicted click-through rate here (default: the placement's prior)."""
    fit = fit or tuned_fit()
    language = detect_language(question)
    result = AuctionResult(floor=fit.floor, language=language)
    matches = matches if matches is not None else book.matcher.match(question, answer_text)
    local_now = timezone.localtime(now, ZoneInfo(settings.AD_TIME_ZONE))
    categories = frozenset(category_ids)
    cited = set(cited_article_ids)
    q = None if question_vector is None else np.asarray(question_vector, dtype=np.float32)
    a = None if answer_vector is None else np.asarray(answer_vector, dtype=np.float32)
    if q is not None and len(book.vectors) and len(q) != book.vectors.shape[1]:
        logger.error("question vector has %d dimensions, the book's %d: relevance cannot be judged",
                     len(q), book.vectors.shape[1])
        q = None
    if a is not None and (q is None or len(a) != len(q)):
        a = None
    combined = q
    if q is not None and a is not None and fit.answer_weight > 0:
        summed = q + fit.answer_weight * a
        combined = summed / max(float(np.linalg.norm(summed)), 1e-9)
    # 1. Candidates: every campaign a keyword matched, less those a negative removed or whose
    #    language (from the book) is not the question's; the checks that need fresh state come last.
    #    As arrays of campaign positions in the book: a question matches a thousand campaigns or more.
    known = result.known
    positions = book.rule_positions[matches.rules] if len(matches.rules) else np.zeros(0, dtype=np.int64)
    in_book = positions >= 0
    matched_rules, positions = matches.rules[in_book], positions[in_book]
    by_campaign = np.argsort(positions, kind="stable")
    matched_rules, positions = matched_rules[by_campaign], positions[by_campaign]
    candidates, first, rule_counts = np.unique(positions, return_index=True, return_counts=True)
    rules_of = book.matcher.rules

    def rules_at(k: int) -> list[KeywordRule]:
        return [rules_of[i] for i in matched_rules[first[k]:first[k] + rule_counts[k]].tolist()]

    def lose(k: int, reason: str) -> None:
        campaign = book.order[candidates[k]]
        known[campaign.id] = Outcome(campaign.id, campaign.advertiser_id, reason,
                                     keyword=rules_of[matched_rules[first[k]]].text)

    keep = np.ones(len(candidates), dtype=bool)
    negative_positions = book.rule_positions[matches.negatives] if len(matches.negatives) else ()
    for k in np.nonzero(np.isin(candidates, negative_positions))[0].tolist():
        keep[k] = False
        lose(k, "negative_keyword")
    for k in np.nonzero(keep & book.targets_languages[candidates])[0].tolist():
        if language not in book.order[candidates[k]].state.languages:
            keep[k] = False
            lose(k, "language")
    # Their promoted articles (all of them: each candidate's best one is found below), less any the
    # answer cites.
    starts, ends = book.promo_start[candidates], book.promo_start[candidates + 1]
    counts = np.where(keep, ends - starts, 0)
    owner = np.repeat(np.arange(len(candidates)), counts)  # candidate k of each promoted article
    flat = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts, counts)
    if cited and len(flat):
        uncited = ~np.isin(book.promo_articles[flat], list(cited))
        owner, flat = owner[uncited], flat[uncited]
    scored = np.zeros(len(candidates), dtype=bool)
    scored[owner] = True
    for k in np.nonzero(keep & ~scored)[0].tolist():
        lose(k, "cited" if ends[k] > starts[k] else "no_promotion")
    # 2. Relevance of every candidate's promoted articles at once; under the floor, no bid helps.
    above = []
    if len(flat) and combined is None:
        for k in np.nonzero(scored)[0].tolist():
            lose(k, "floor")
    elif len(flat):
        rows = book.promo_rows[flat]
        cosine = book.vectors[rows] @ combined
        weights = book.coverage_weights(book.matcher.seg.tokens(question), fit.unknown_weight, fit.idf)
        covered = book.coverages(weights, rows)
        b0, b_cos, b_cov = fit.coef
        z = np.clip(b0 + b_cos * cosine.astype(np.float64) + b_cov * covered, -50.0, 50.0)
        probability = 1.0 / (1.0 + np.exp(-z))
        if len(flat) == len(np.unique(owner)):  # one promoted article each, the usual case
            best = np.arange(len(flat))
        else:  # each candidate's most relevant promoted article, the first of equals
            ranked = np.lexsort((np.arange(len(flat)), -probability, owner))
            best = ranked[np.unique(owner[ranked], return_index=True)[1]]
        at = candidates[owner[best]]  # campaign positions, one per scored candidate
        relevance = probability[best]
        passing = relevance >= fit.floor
        under = ~passing
        result.floored = (book.campaign_ids[at[under]], book.advertiser_ids[at[under]],
                          book.promo_articles[flat[best[under]]], relevance[under], cosine[best[under]],
                          covered[best[under]])
        for i in np.nonzero(passing)[0].tolist():
            campaign, j = book.order[at[i]], best[i]
            promoted = book.promoted[flat[j]]
            outcome = Outcome(campaign.id, campaign.advertiser_id, "", relevance=float(relevance[i]),
                              article_id=promoted.article_id, features=(float(cosine[j]), float(covered[j])))
            known[campaign.id] = outcome
            above.append((campaign, rules_at(owner[j]), outcome, promoted))
    # 3. Eligibility with fresh state (status, bids, budgets, hours, balance), then the score.
    capped = set()
    if refresh is not None and above:
        capped = refresh([campaign.id for campaign, *_ in above]) or set()
    ranked = []
    for campaign, rules, outcome, promoted in above:
        bid, keyword, keyword_id = _bid_of(campaign, rules)
        outcome.bid, outcome.keyword, outcome.keyword_id = bid, keyword, keyword_id
        reason = _eligibility(campaign, terms=terms, language=language, category_ids=categories, local_now=local_now,
                              bid=bid)
        if not reason and campaign.id in capped:
            reason = "frequency_cap"
        if reason:
            outcome.reason = reason
            continue
        predicted = ctr(campaign.id) if ctr is not None else terms.ctr
        quality = (predicted * outcome.relevance if campaign.pricing == Campaign.Pricing.CPC
                   else outcome.relevance / 1000.0)
        outcome.score = float(bid) * quality
        ranked.append((campaign, outcome, promoted, quality))
    ranked.sort(key=lambda r: (-r[1].score, r[0].id))
    # One slot per advertiser: its best campaign competes, the others lose "advertiser_shown".
    competing, seen = [], set()
    for entry in ranked:
        if entry[0].advertiser_id in seen:
            entry[1].reason = "advertiser_shown"
            continue
        seen.add(entry[0].advertiser_id)
        competing.append(entry)
    for position, (campaign, outcome, promoted, quality) in enumerate(competing):
        if position >= terms.slots:
            outcome.reason = "rank"
            continue
        next_score = competing[position + 1][1].score if position + 1 < len(competing) else 0.0
        reserve = terms.reserve_cpc if campaign.pricing == Campaign.Pricing.CPC else terms.reserve_cpm
        price = gsp_price(pricing=campaign.pricing, bid=outcome.bid, quality=quality, next_score=next_score,
                          reserve=reserve)
        outcome.reason = "won"
        result.slots.append(Slot(
            position=position + 1, campaign_id=campaign.id, campaign_name=campaign.name,
            advertiser_id=campaign.advertiser_id, advertiser_name=campaign.advertiser_name,
            article_id=promoted.article_id, promotion_id=promoted.promotion_id, title=promoted.title,
            pricing=campaign.pricing, bid=outcome.bid, price=price, score=outcome.score,
            relevance=outcome.relevance, keyword=outcome.keyword, keyword_id=outcome.keyword_id,
            landing_url=promoted.landing_url))
    return result


# --- the book from the database -----------------------------------------------------------------

_book: CampaignBook | None = None
_book_lock = threading.Lock()


def _fingerprint() -> tuple:
    """Changes whenever a campaign, an approved keyword or promotion, or an advertiser's article does."""
    live = Q(archived=False, review=Review.APPROVED)
    return (
        tuple(Campaign.objects.aggregate(n=Count("id"), changed=Max("updated_at")).values()),
        tuple(CampaignKeyword.objects.filter(live).aggregate(n=Count("id"), ids=Sum("id")).values()),
        tuple(Promotion.objects.filter(live).aggregate(n=Count("id"), ids=Sum("id")).values()),
        tuple(Article.objects.filter(owner__isnull=False).aggregate(changed=Max("updated_at")).values()),
    )


def _state_of(row: dict) -> CampaignState:
    return CampaignState(
        status=row["status"], advertiser_status=row["advertiser__status"], balance=row["advertiser__balance"],
        max_bid=row["max_bid"], daily_budget=row["daily_budget"], total_budget=row["total_budget"],
        start_date=row["start_date"], end_date=row["end_date"], hours=frozenset(int(h) for h in row["hours"] or ()),
        languages=frozenset(row["languages"] or ()), spend_today=row["spend_today"], spend_day=row["spend_day"],
        spend_total=row["spend_total"], accrued=row["advertiser__accrued"], frequency_cap=row["frequency_cap"])


STATE_FIELDS = ("id", "status", "advertiser__status", "advertiser__balance", "max_bid", "daily_budget", "total_budget",
                "start_date", "end_date", "hours", "languages", "spend_today", "spend_day", "spend_total",
                "advertiser__accrued", "frequency_cap")


def book_build(seg: Segmenter, fingerprint: tuple = ()) -> CampaignBook:
    """Reads every campaign that may run, with its approved keywords and promotions, into a book."""
    rows = list(Campaign.objects.filter(status__in=BOOK_STATUSES).values(*STATE_FIELDS, "name", "pricing",
                                                                          "advertiser_id", "advertiser__name"))
    ids = [r["id"] for r in rows]
    categories: dict[int, set[int]] = {}
    for campaign_id, category_id in Campaign.categories.through.objects.filter(campaign_id__in=ids).values_list(
            "campaign_id", "category_id"):
        categories.setdefault(campaign_id, set()).add(category_id)
    promotions: dict[int, list[Promoted]] = {}
    vectors = []
    owners = {r["id"]: r["advertiser_id"] for r in rows}
    for p in (Promotion.objects.filter(campaign_id__in=ids, archived=False, review=Review.APPROVED,
                                       article__status=Article.Status.APPROVED, article__embedding__isnull=False)
              .values("id", "campaign_id", "article_id", "headline", "article__title", "article__owner_id",
                      "article__embedding", "article__tokens", "landing_url").order_by("id")):
        vector = from_bytes(p["article__embedding"])
        if vector is None or p["article__owner_id"] != owners[p["campaign_id"]]:
            continue  # only the advertiser's own article, and only one that can be scored
        if vectors and len(vector) != len(vectors[0]):
            logger.error("promotion %s: its article's embedding has another dimension; re-embed the library", p["id"])
            continue
        promotions.setdefault(p["campaign_id"], []).append(
            Promoted(p["id"], p["article_id"], p["headline"] or p["article__title"], len(vectors),
                     frozenset((p["article__tokens"] or "").split()), p["landing_url"]))
        vectors.append(vector)
    campaigns = [BookCampaign(id=r["id"], name=r["name"], advertiser_id=r["advertiser_id"],
                              advertiser_name=r["advertiser__name"], pricing=r["pricing"],
                              category_ids=frozenset(categories.get(r["id"], ())), promotions=promotions.get(r["id"], []),
                              state=_state_of(r)) for r in rows]
    rules = [KeywordRule(k["campaign_id"], k["id"], k["text"], k["match_type"], k["negative"], k["bid"])
             for k in CampaignKeyword.objects.filter(campaign_id__in=ids, archived=False, review=Review.APPROVED)
             .values("id", "campaign_id", "text", "match_type", "negative", "bid")]
    matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), dtype=np.float32)
    book = CampaignBook(campaigns, rules, matrix, seg, fingerprint, library=library_freqs(
        Article.objects.filter(status=Article.Status.APPROVED).values_list("tokens", flat=True).iterator(chunk_size=5000)))
    # A large book is millions of long-lived objects: the cyclic collector would walk them all at
    # every full collection (pauses of 100+ ms in the bench's p99). Frozen, it skips them; a
    # rebuilt book's predecessor is freed by reference counting all the same.
    gc.freeze()
    return book


def library_freqs(token_strings: Iterable[str | None]) -> tuple[int, dict[str, int]]:
    """(documents, {token: document frequency}) over articles' stored tokens (space-separated)."""
    counts: Counter = Counter()
    documents = 0
    for tokens in token_strings:
        documents += 1
        counts.update(set((tokens or "").split()))
    return documents, dict(counts)


def book_current(seg: Segmenter) -> CampaignBook:
    """The process's book, rebuilt when the campaigns changed (checked every AD_AUCTION_BOOK_SECONDS)."""
    global _book
    book = _book
    if book is not None and time.monotonic() - book.built_at < settings.AD_AUCTION_BOOK_SECONDS:
        return book
    fingerprint = _fingerprint()
    with _book_lock:
        if _book is None or _book.fingerprint != fingerprint or _book.matcher.seg is not seg:
            _book = book_build(seg, fingerprint)
        else:
            _book.built_at = time.monotonic()
        return _book


def book_forget() -> None:
    global _book, _checked_segmenter
    with _book_lock:
        _book = None
        _checked_segmenter = None
    _ctr_cache.clear()


def _refresh_states(book: CampaignBook, campaign_ids: Iterable[int], *, reader: str = "",
                    day=None) -> set[int]:
    """Reads the campaigns' fresh state; returns those `reader` has seen up to their frequency cap
    on ad day `day`. One query: the reader's impressions today are counted in it, for the campaigns
    with a cap, when a reader is known."""
    ids = [i for i in campaign_ids if i in book.campaigns]
    if not ids:
        return set()
    rows = Campaign.objects.filter(id__in=ids).values(*STATE_FIELDS)
    if reader:
        # Impressions still in the Redis buffer (a second at most) are not counted yet.
        seen = (Impression.objects.filter(reader_key=reader[:64], ad_day=day, campaign_id=OuterRef("id")).order_by()
                .values("campaign_id").annotate(n=Count("id")).values("n"))
        rows = rows.annotate(seen_today=Case(When(frequency_cap__isnull=False, then=Subquery(seen)),
                                             output_field=IntegerField()))
    capped = set()
    for row in rows:
        book.state_set(row["id"], _state_of(row))
        if row["frequency_cap"] and (row.get("seen_today") or 0) >= row["frequency_cap"]:
            capped.add(row["id"])
    return capped


_ctr_cache: dict[int, tuple[float, dict[int, tuple[int, int]]]] = {}


def ctr_records(placement: Placement) -> dict[int, tuple[int, int]]:
    """{campaign id: (impressions served, valid clicks)} on this placement from the campaign rollups
    (the keyword rollups summed), re-read at most every AD_AUCTION_BOOK_SECONDS."""
    cached = _ctr_cache.get(placement.id)
    if cached is not None and time.monotonic() - cached[0] < settings.AD_AUCTION_BOOK_SECONDS:
        return cached[1]
    records = {row["campaign_id"]: (row["served"] or 0, row["clicks"] or 0)
               for row in CampaignDailyRollup.objects.filter(placement_id=placement.id).order_by().values("campaign_id")
               .annotate(served=Sum("served"), clicks=Sum("clicks_valid"))}
    _ctr_cache[placement.id] = (time.monotonic(), records)
    return records


_checked_segmenter: tuple[float, Segmenter] | None = None


def _segmenter(seg: Segmenter | None) -> Segmenter:
    """The process's segmenter with the lexicon loaded, its lexicon checked for changes at most every
    AD_AUCTION_BOOK_SECONDS (as the book is), not on every auction."""
    global _checked_segmenter
    if seg is not None:
        return seg
    checked = _checked_segmenter
    if checked is not None and time.monotonic() - checked[0] < settings.AD_AUCTION_BOOK_SECONDS:
        return checked[1]
    from recommender.lexicon import segmenter_refresh  # noqa: PLC0415

    seg = segmenter_refresh()
    _checked_segmenter = (time.monotonic(), seg)
    return seg


def placement_auction(*, placement: Placement, question, answer_text: str, question_vector: np.ndarray | None,
                      answer_vector: np.ndarray | None, reader: str = "", now=None,
                      cited_article_ids: Sequence[int] = (), category_ids: Iterable[int] = (),
                      seg: Segmenter | None = None, log: bool = True) -> AuctionResult:
    """The sponsored slots for a question and its answer on `placement`, priced, and logged.

    `question` is a contentlib Question or its text. `cited_article_ids` are the answer's references
    (the citation firewall drops any of them a campaign promotes); `category_ids` the categories of
    those references (empty: the question's category is unknown and campaigns' categories are not
    checked). `reader` is the reader key (frequency caps count its impressions today). Never runs
    a model; a bounded number of queries (the lexicon state and four book checks, at most every
    AD_AUCTION_BOOK_SECONDS; one state read, with the reader's frequency-cap counts; one log row).
    """
    started = time.perf_counter()
    now = now or timezone.now()
    text = question if isinstance(question, str) else question.text
    if not placement.active:
        return AuctionResult(floor=tuned_fit().floor, language=detect_language(text))
    book = book_current(_segmenter(seg))
    terms = Terms.of(placement)
    day = timezone.localtime(now, ZoneInfo(settings.AD_TIME_ZONE)).date()
    records: dict | None = None

    def ctr(campaign_id: int) -> float:
        nonlocal records
        if records is None:
            records = ctr_records(placement)
        return terms.ctr_with(*records.get(campaign_id, (0, 0)))

    result = auction_run(book, terms=terms, question=text, answer_text=answer_text or "",
                         question_vector=question_vector, answer_vector=answer_vector, now=now,
                         cited_article_ids=cited_article_ids, category_ids=category_ids,
                         refresh=lambda ids: _refresh_states(book, ids, reader=reader, day=day), ctr=ctr)
    if log:
        result.log_id = _log(placement, question, text, reader, now, result, time.perf_counter() - started).id
    return result


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _log(placement, question, text, reader, now, result: AuctionResult, seconds: float) -> AuctionLog:
    winners = [{"slot": s.position, "campaign": s.campaign_id, "advertiser": s.advertiser_id, "article": s.article_id,
                "keyword": s.keyword, "pricing": s.pricing, "bid": _money(s.bid), "price": _money(s.price),
                "score": round(s.score, 8), "relevance": round(s.relevance, 4)} for s in result.slots]
    return AuctionLog.objects.create(
        placement=placement, question=question if isinstance(question, Question) and question.pk else None,
        question_text=normalize_query(text)[:500], language=result.language, reader_key=(reader or "")[:64],
        ad_day=timezone.localtime(now, ZoneInfo(settings.AD_TIME_ZONE)).date(), filled=len(result.slots),
        candidates=result.candidates, winners=winners, losers=losers_compact(result), floor=result.floor,
        duration_ms=round(seconds * 1000, 3))


def losers_compact(result: AuctionResult) -> dict:
    """The log's `losers`: every candidate that did not win, by reason. Those under the floor (most
    of them: a thousand or more in a large book) as two lists of plain integers, their campaign ids
    ascending and their relevance in hundredths, {"floor": {"ids": [...], "relevance_pct": [...]}};
    the others (a few) as a list per reason of [id, relevance, score or null] when they passed the
    floor, else the id alone. `logged_outcomes` reads it back."""
    losers: dict[str, list | dict] = {}
    ids, _advertisers, _articles, relevance, _cosine, _covered = result.floored
    if len(ids):
        order = np.argsort(ids, kind="stable")
        losers["floor"] = {"ids": np.asarray(ids)[order].tolist(),
                           "relevance_pct": np.rint(np.asarray(relevance)[order] * 100).astype(np.int64).tolist()}
    for o in result.known.values():
        if o.reason == "won":
            continue
        if o.relevance is not None:
            entry = [o.campaign_id, round(o.relevance, 4), None if o.score is None else round(o.score, 8)]
        else:
            entry = o.campaign_id
        losers.setdefault(o.reason, []).append(entry)
    return losers


@dataclass(frozen=True)
class LoggedOutcome:
    """One candidate of a logged auction: why it did not win ("won" for a winner), with its
    relevance (to two places under the floor) and score when it got that far."""

    campaign_id: int
    reason: str
    relevance: float | None = None
    score: float | None = None

    @property
    def message(self) -> str:
        return str(REASONS[self.reason])


def logged_outcomes(log: AuctionLog) -> dict[int, LoggedOutcome]:
    """Every candidate of a logged auction, by campaign id: the winners and the compact losers read
    back (the format of `losers_compact`, and the one before it: [id, relevance] pairs under the floor)."""
    out = {w["campaign"]: LoggedOutcome(w["campaign"], "won", w.get("relevance"), w.get("score"))
           for w in log.winners or ()}
    for reason, entries in (log.losers or {}).items():
        if isinstance(entries, dict):  # {"ids": [...], "relevance_pct": [...]}
            for campaign_id, pct in zip(entries["ids"], entries["relevance_pct"], strict=True):
                out[campaign_id] = LoggedOutcome(campaign_id, reason, pct / 100)
            continue
        for entry in entries:
            if isinstance(entry, list):
                out[entry[0]] = LoggedOutcome(entry[0], reason, entry[1], entry[2] if len(entry) > 2 else None)
            else:
                out[entry] = LoggedOutcome(entry, reason)
    return out


# --- "why was this campaign not shown" ----------------------------------------------------------

@dataclass
class Explanation:
    campaign_id: int
    reason: str
    outcome: Outcome | None
    floor: float
    slots: int
    lowest_winning_score: float | None  # a number only: no competitor is ever named
    result: AuctionResult | None = None

    @property
    def message(self) -> str:
        return str(REASONS[self.reason])

    @property
    def shown(self) -> bool:
        return self.reason == "won"


def auction_explain(*, campaign: Campaign, placement: Placement, question: str, answer_text: str,
                    question_vector, answer_vector, cited_article_ids: Sequence[int] = (),
                    category_ids: Iterable[int] = (), now=None) -> Explanation:
    """Why `campaign` was (not) shown for this question: eligibility and scoring re-run now with the
    current bids, nothing logged. The result names only this campaign; of the others, only the
    lowest winning score is given."""
    if campaign.status not in BOOK_STATUSES:
        return Explanation(campaign.id, "not_in_book", None, tuned_fit().floor, placement.slots, None)
    result = placement_auction(placement=placement, question=question, answer_text=answer_text,
                               question_vector=question_vector, answer_vector=answer_vector, now=now,
                               cited_article_ids=cited_article_ids, category_ids=category_ids, log=False)
    outcome = result.outcomes.get(campaign.id)
    return Explanation(campaign.id, outcome.reason if outcome else "no_keyword", outcome, result.floor,
                       placement.slots, result.lowest_winning_score, result)


# --- from a stored answer -----------------------------------------------------------------------

def placement_get(slug: str = "question") -> Placement:
    placement = Placement.objects.filter(slug=slug).first()
    if placement is None:
        known = ", ".join(Placement.objects.values_list("slug", flat=True)) or "none"
        raise ApplicationError(_("No placement has the slug “%(slug)s”. Known placements: %(known)s. Add it in the "
                                 "admin (Placements).") % {"slug": slug, "known": known})
    return placement


def answer_inputs(answer) -> dict:
    """What the auction needs from a stored Answer: its text, the question's and the answer's stored
    vectors, and its references (for the citation firewall)."""
    return {"question": answer.question, "answer_text": answer.text,
            "question_vector": from_bytes(answer.question.vector), "answer_vector": from_bytes(answer.vector),
            "cited_article_ids": list(answer.cited_article_ids or [])}


def auction_for_answer(*, placement: Placement, answer, reader: str = "", now=None) -> AuctionResult:
    """The slots beside a stored answer (vectors and references from the answer, no model run)."""
    return placement_auction(placement=placement, reader=reader, now=now, **answer_inputs(answer))


def explain_question(*, campaign: Campaign, question_text: str, placement: Placement | None = None,
                     now=None) -> Explanation:
    """Why `campaign` is (not) shown beside the answer to `question_text`, with the bids of now. The
    question is answered as a reader's would be (the cached answer when there is one)."""
    from recommender.answers.services import answer_question  # noqa: PLC0415 - the answers' model, on demand

    if not normalize_query(question_text or ""):
        raise ApplicationError(_("Give the question to explain, e.g. 展台设计多少钱."), {"field": "question"})
    answer = answer_question(question_text=question_text, count_ask=False)  # an advertiser's look-up is no ask
    inputs = answer_inputs(answer)
    inputs["question"] = answer.question.text
    return auction_explain(campaign=campaign, placement=placement or placement_get(), now=now, **inputs)
