"""Reports on sponsored slots, read from the daily rollups (ads.rollups), never from raw events, so
that figures survive the raw events' retention. Totals, the daily series, placements and the
campaign table read the campaign rollups (campaign × placement × ad day); only what is about
keywords reads the keyword rollups (campaign × keyword × placement × ad day), and only when a
keyword, a campaign or an advertiser bounds them (a year of one advertiser: 10 campaigns × 50
keywords × 365 days; the whole site would be 18 million rows at a thousand campaigns). Conversions come from ads.Conversion (which
keeps its attribution after the click is deleted), fill rate from ads.AuctionLog.

Every day is an ad day of the one business time zone, AD_TIME_ZONE; every report says which.

Who sees what (`report_viewer`): analysts (staff who may view campaigns and the ledger) see every
advertiser; an enterprise user sees only its own advertiser, whatever ids its filters carry: the
viewer's advertiser replaces any advertiser in the filters, and every query is filtered by it.
"""
import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from ads import selectors
from ads.models import (BILLING_REASONS, AuctionLog, Campaign, CampaignDailyRollup, CampaignKeyword, Click,
                        Conversion, DailyRollup, Impression, InvalidReason, LedgerEntry, Placement, placement_label)
from contentlib.errors import ApplicationError
from contentlib.models import Question
from contentlib.readers import ad_day

ZERO = Decimal(0)
CENT = Decimal("0.01")
FINE = Decimal("0.0001")
# Invalid traffic, in rollup columns; the billing reasons (budget, balance, pacing) are valid clicks.
TRAFFIC_REASONS = [reason for reason in InvalidReason.values if reason not in BILLING_REASONS]
TRAFFIC = ("all", "valid", "invalid")
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Viewer:
    """Whose figures a user may read: advertiser_id None means every advertiser (an analyst)."""

    advertiser_id: int | None
    analyst: bool


@dataclass(frozen=True)
class ReportFilters:
    date_from: dt.date
    date_to: dt.date
    advertiser_id: int | None = None
    campaign_id: int | None = None
    keyword_id: int | None = None
    placement_id: int | None = None
    pricing: str = ""
    traffic: str = "all"


@dataclass
class Report:
    zone: str
    filters: ReportFilters
    totals: dict
    daily: list[dict] = field(default_factory=list)
    keywords: list[dict] = field(default_factory=list)  # top keywords: their text, campaign, served, valid clicks
    placements: list[dict] = field(default_factory=list)
    invalid_by_reason: list[dict] = field(default_factory=list)
    keywords_shown: bool = True  # False: the whole site, where top keywords are not computed (see keyword_bounded)


def is_analyst(user) -> bool:
    """Staff who may read every advertiser's figures (the Analysts group, editors, superusers)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff
                and user.has_perms(["ads.view_campaign", "ads.view_ledgerentry"]))


def report_viewer(*, user) -> Viewer:
    """The user's reading scope, or ApplicationError (code forbidden) when it may read no report."""
    if is_analyst(user):
        return Viewer(advertiser_id=None, analyst=True)
    membership = selectors.membership_of(user)
    if membership is not None:
        return Viewer(advertiser_id=membership.advertiser_id, analyst=False)
    raise ApplicationError(_("Reports are for analysts and enterprise users. Sign in with an analyst's account, or "
                             "with your company's account in the portal."), {"code": "forbidden"})


def filters_default(*, today: dt.date | None = None) -> ReportFilters:
    """The last DEFAULT_DAYS ad days, today included."""
    today = today or ad_day()
    return ReportFilters(date_from=today - dt.timedelta(days=DEFAULT_DAYS - 1), date_to=today)


def filters_scoped(*, viewer: Viewer, filters: ReportFilters) -> ReportFilters:
    """The filters as the viewer may use them: an enterprise user's own advertiser, always."""
    if filters.date_to < filters.date_from:
        raise ApplicationError(_("The end date is before the start date. Pick an end date on or after %(start)s.")
                               % {"start": filters.date_from}, {"field": "date_to"})
    if filters.traffic not in TRAFFIC:
        filters = replace(filters, traffic="all")
    if viewer.advertiser_id is not None:
        filters = replace(filters, advertiser_id=viewer.advertiser_id)
    return filters


def _where(filters: ReportFilters, *, day: str = "ad_day", campaign: str = "campaign") -> Q:
    q = Q(**{f"{day}__gte": filters.date_from, f"{day}__lte": filters.date_to})
    if filters.advertiser_id is not None:
        q &= Q(**{f"{campaign}__advertiser_id": filters.advertiser_id})
    if filters.campaign_id is not None:
        q &= Q(**{f"{campaign}_id": filters.campaign_id})
    if filters.keyword_id is not None:
        q &= Q(keyword_id=filters.keyword_id)
    if filters.placement_id is not None:
        q &= Q(placement_id=filters.placement_id)
    if filters.pricing:
        q &= Q(**{f"{campaign}__pricing": filters.pricing})
    return q


def rollups(*, filters: ReportFilters) -> QuerySet[DailyRollup]:
    """The keyword rollup rows (campaign × keyword × placement × ad day) the (scoped) filters select."""
    return DailyRollup.objects.filter(_where(filters)).order_by()


def campaign_rollups(*, filters: ReportFilters) -> QuerySet[CampaignDailyRollup] | QuerySet[DailyRollup]:
    """Rows whose sums are the figures the (scoped) filters select: the campaign rollups, or the
    keyword rollups when the filters name a keyword (the campaign rollups have none)."""
    if filters.keyword_id is not None:
        return rollups(filters=filters)
    return CampaignDailyRollup.objects.filter(_where(filters)).order_by()


def keyword_bounded(filters: ReportFilters) -> bool:
    """Whether the filters bound the keyword rollups to one advertiser, campaign or keyword: only then
    are per-keyword figures (top keywords, the keyword table) read."""
    return any(value is not None for value in (filters.advertiser_id, filters.campaign_id, filters.keyword_id))


VALID_COLUMNS = ("served", "viewable", "clicks_valid", "clicks_billed", "spend",
                 *(f"clicks_{reason}" for reason in sorted(BILLING_REASONS)))
INVALID_COLUMNS = ("served_invalid", *(f"clicks_{reason}" for reason in TRAFFIC_REASONS))


def _sums() -> dict:
    """SQL sums of the rollup columns the reports read."""
    sums = {name: Coalesce(Sum(name), Value(0)) for name in VALID_COLUMNS + INVALID_COLUMNS if name != "spend"}
    sums["spend"] = Coalesce(Sum("spend"), Value(ZERO), output_field=DecimalField(max_digits=18, decimal_places=4))
    return sums


def _traffic(row: dict, traffic: str) -> dict:
    """The row as the traffic filter sees it: invalid traffic has no valid figures and spends
    nothing; valid traffic has no invalid ones. Columns missing (a day without traffic) are zero."""
    out = dict(row)
    for name in VALID_COLUMNS:
        out[name] = (row.get(name) or 0) if traffic != "invalid" else 0
    for name in INVALID_COLUMNS:
        out[name] = (row.get(name) or 0) if traffic != "valid" else 0
    out["spend"] = Decimal(out["spend"] or 0)
    return out


def _row_values(rollup: DailyRollup, traffic: str) -> dict:
    """One rollup row's columns as the traffic filter sees them."""
    return _traffic({name: getattr(rollup, name) for name in VALID_COLUMNS + INVALID_COLUMNS}, traffic)


def _ratio(part, whole, scale=1) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * scale / Decimal(whole)).quantize(FINE, rounding=ROUND_HALF_UP)


def money(value) -> Decimal:
    """An amount shown to the cent (kept to 0.0001 underneath)."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def metrics(row: dict, conversions: int = 0) -> dict:
    """Adds the derived metrics to summed rollup columns: rates in percent, money to the cent."""
    spend = Decimal(row.get("spend") or 0).quantize(FINE)
    invalid = sum(row.get(f"clicks_{reason}", 0) or 0 for reason in TRAFFIC_REASONS)
    served, valid = row.get("served", 0) or 0, row.get("clicks_valid", 0) or 0
    out = dict(row)
    out.update(
        spend=spend, spend_cents=money(spend), clicks_invalid=invalid, conversions=conversions,
        served_all=served + (row.get("served_invalid", 0) or 0),
        viewability=_ratio(row.get("viewable", 0) or 0, served, 100),
        ctr=_ratio(valid, served, 100),
        average_cpc=money(spend / valid) if valid else None,
        ecpm=money(spend * 1000 / served) if served else None,
        conversion_rate=_ratio(conversions, valid, 100),
        cost_per_conversion=money(spend / conversions) if conversions else None,
    )
    return out


def _conversions(filters: ReportFilters, *group) -> dict:
    """Conversions by the click's ad day and the given fields (only of the traffic the filter keeps)."""
    if filters.traffic == "invalid":
        where = Q(click_valid=False)
    elif filters.traffic == "valid":
        where = Q(click_valid=True)
    else:
        where = Q()
    rows = (Conversion.objects.filter(_where(filters, day="click_ad_day") & where).order_by()
            .values(*group).annotate(n=Count("id")))
    return {tuple(row[g] for g in group): row["n"] for row in rows}


def fill_rate(*, filters: ReportFilters) -> Decimal | None:
    """Auctions with a winner / auction requests, in percent, on the filtered days and placement.
    Only for the whole site: a campaign or advertiser has no fill rate of its own (None then)."""
    if filters.advertiser_id or filters.campaign_id or filters.keyword_id or filters.pricing:
        return None
    q = Q(ad_day__gte=filters.date_from, ad_day__lte=filters.date_to)
    if filters.placement_id is not None:
        q &= Q(placement_id=filters.placement_id)
    # COUNT(*) and a count of `filled`: the columns of the index (ad_day, filled), so that the whole
    # site's days are an index-only scan (counting "id" would read every row from the table).
    counts = AuctionLog.objects.filter(q).aggregate(requests=Count("*"), filled=Count("filled", filter=Q(filled__gt=0)))
    return _ratio(counts["filled"], counts["requests"], 100)


def top_keywords(*, filters: ReportFilters, top: int = 10) -> list[dict]:
    """The (scoped) filters' keywords by valid clicks, then served: text, campaign, served and valid
    clicks. Summed by keyword and campaign ids alone, from the index (DailyRollup.Meta), with the
    names looked up for the groups after: joining them first cost a join per keyword row."""
    groups = list(rollups(filters=filters).values("keyword_id", "campaign_id")
                  .annotate(served=Sum("served"), clicks_valid=Sum("clicks_valid")))
    texts = dict(CampaignKeyword.objects.filter(id__in={g["keyword_id"] for g in groups if g["keyword_id"]})
                 .values_list("id", "text"))
    names = dict(Campaign.objects.filter(id__in={g["campaign_id"] for g in groups}).values_list("id", "name"))
    valid = filters.traffic != "invalid"
    rows = [{"keyword_id": g["keyword_id"], "keyword__text": texts.get(g["keyword_id"]),
             "campaign__name": names.get(g["campaign_id"], ""), "served": g["served"] if valid else 0,
             "clicks_valid": g["clicks_valid"] if valid else 0} for g in groups]
    rows.sort(key=lambda r: (-r["clicks_valid"], -r["served"], r["keyword__text"] is None, r["keyword__text"] or "",
                             r["keyword_id"] or 0))
    return rows[:top]


def report_build(*, viewer: Viewer, filters: ReportFilters, top: int = 10) -> Report:
    """The whole report: totals, daily series, top keywords and placements, invalid clicks by reason."""
    filters = filters_scoped(viewer=viewer, filters=filters)
    sums, traffic = _sums(), filters.traffic
    base = campaign_rollups(filters=filters)
    by_day = {row["ad_day"]: row for row in base.values("ad_day").annotate(**sums)}
    conversions_by_day = _conversions(filters, "click_ad_day")
    # The totals are the days summed (integers and decimals: exact), one query fewer per page.
    summed = {name: sum((row[name] for row in by_day.values()), ZERO if name == "spend" else 0) for name in sums}
    totals = metrics(_traffic(summed, traffic), sum(conversions_by_day.values()))
    totals["fill_rate"] = fill_rate(filters=filters)
    daily = []
    day = filters.date_from
    while day <= filters.date_to:  # every day of the range, those without traffic as zeros
        row = by_day.get(day, {"ad_day": day})
        daily.append(metrics(_traffic(row, traffic), conversions_by_day.get((day,), 0)))
        day += dt.timedelta(days=1)
    keywords = top_keywords(filters=filters, top=top) if keyword_bounded(filters) else []
    placement_conversions = _conversions(filters, "placement_id")
    placements = [{**metrics(_traffic(row, traffic), placement_conversions.get((row["placement_id"],), 0)),
                   "placement_label": placement_label(kind=row["placement__kind"], name=row["placement__name"],
                                                      slug=row["placement__slug"])}
                  for row in base.values("placement_id", "placement__slug", "placement__name", "placement__kind")
                  .annotate(**sums).order_by("-clicks_valid", "-served", "placement__slug")[:top]]
    labels = dict(InvalidReason.choices)
    invalid = [{"reason": reason, "label": str(labels[reason]), "clicks": totals.get(f"clicks_{reason}", 0)}
               for reason in TRAFFIC_REASONS]
    invalid.sort(key=lambda item: -item["clicks"])
    return Report(zone=str(settings.AD_TIME_ZONE), filters=filters, totals=totals, daily=daily, keywords=keywords,
                  placements=placements, invalid_by_reason=invalid, keywords_shown=keyword_bounded(filters))


# The table's sortable columns: the name in the URL → the ORDER BY.
SORTS = {
    "day": "ad_day", "campaign": "campaign__name", "keyword": "keyword__text", "placement": "placement__slug",
    "served": "served", "viewable": "viewable", "clicks": "clicks_valid", "billed": "clicks_billed", "spend": "spend",
}


def table_by_keyword(filters: ReportFilters) -> bool:
    """Whether the table lists keyword rows: for one campaign or keyword (at most its keywords × the
    days); otherwise campaign rows (campaign × placement × ad day)."""
    return filters.campaign_id is not None or filters.keyword_id is not None


def report_table(*, viewer: Viewer, filters: ReportFilters, sort: str = "-day", page: int = 1, per_page: int = 50):
    """One page of rollup rows, sorted by a column of SORTS (a leading "-": descending); returns (page,
    rows with their metrics). Rows are campaign × keyword × placement × ad day for one campaign or
    keyword (table_by_keyword), campaign × placement × ad day otherwise (their keyword is None)."""
    filters = filters_scoped(viewer=viewer, filters=filters)
    by_keyword = table_by_keyword(filters)
    key = sort.lstrip("-")
    if key == "keyword" and not by_keyword:
        key = "campaign"
    order = SORTS.get(key, "ad_day")
    direction = "-" if sort.startswith("-") or key not in SORTS else ""
    traffic = filters.traffic
    if by_keyword:
        queryset = (rollups(filters=filters).select_related("campaign", "campaign__advertiser", "keyword", "placement")
                    .order_by(f"{direction}{order}", "campaign_id", "keyword_id", "placement_id", "ad_day"))
    else:
        queryset = (CampaignDailyRollup.objects.filter(_where(filters)).select_related("campaign", "campaign__advertiser",
                                                                                       "placement")
                    .order_by(f"{direction}{order}", "campaign_id", "placement_id", "ad_day"))
    paginator = Paginator(queryset, per_page)
    page_obj = paginator.get_page(page)
    rows = list(page_obj.object_list)
    group = ("campaign_id", "keyword_id", "placement_id", "click_ad_day") if by_keyword else \
        ("campaign_id", "placement_id", "click_ad_day")
    conversions = {}
    if rows and traffic != "invalid":
        where = Q(click_valid=True) if traffic == "valid" else Q()
        for item in (Conversion.objects.filter(where, campaign_id__in={r.campaign_id for r in rows},
                                               click_ad_day__in={r.ad_day for r in rows}).order_by()
                     .values(*group).annotate(n=Count("id"))):
            conversions[tuple(item[g] for g in group)] = item["n"]
    out = []
    for rollup in rows:
        values = _row_values(rollup, traffic)
        keyword = rollup.keyword if by_keyword else None
        found = ((rollup.campaign_id, rollup.keyword_id, rollup.placement_id, rollup.ad_day) if by_keyword
                 else (rollup.campaign_id, rollup.placement_id, rollup.ad_day))
        row = metrics(values, conversions.get(found, 0))
        row.update(rollup=rollup, ad_day=rollup.ad_day, campaign=rollup.campaign, keyword=keyword,
                   placement=rollup.placement, by_keyword=by_keyword)
        out.append(row)
    return page_obj, out


def search_terms(*, viewer: Viewer, filters: ReportFilters, limit: int = 50) -> list[dict]:
    """The published questions (normalized) that showed the advertiser's ads, with valid impressions,
    valid clicks and spend each, most shown first. Read from the raw events, so it covers the
    retention period (RAW_EVENT_RETENTION_DAYS) only; needs one advertiser."""
    filters = filters_scoped(viewer=viewer, filters=filters)
    if filters.advertiser_id is None:
        return []
    published = Q(auction__question__status=Question.Status.PUBLISHED)
    impressions = (Impression.objects.filter(_where(filters) & published & Q(invalid_reason="")).order_by()
                   .values(term=F("auction__question_text"))
                   .annotate(impressions=Count("id"),
                             cpm=Coalesce(Sum("cost", filter=Q(credited_at__isnull=True)), Value(ZERO))))
    valid_click = Q(reason="") | Q(reason__in=list(BILLING_REASONS))
    clicks = (Click.objects.filter(_where(filters) & Q(impression__auction__question__status=Question.Status.PUBLISHED)
                                   & valid_click).order_by()
              .values(term=F("impression__auction__question_text"))
              .annotate(clicks=Count("id"),
                        cpc=Coalesce(Sum("amount", filter=Q(billed=True, credited_at__isnull=True)), Value(ZERO))))
    terms: dict[str, dict] = {}
    for row in impressions:
        terms[row["term"]] = {"term": row["term"], "impressions": row["impressions"], "clicks": 0,
                              "spend": Decimal(row["cpm"])}
    for row in clicks:
        item = terms.setdefault(row["term"], {"term": row["term"], "impressions": 0, "clicks": 0, "spend": ZERO})
        item["clicks"] += row["clicks"]
        item["spend"] += Decimal(row["cpc"])
    ordered = sorted(terms.values(), key=lambda t: (-t["impressions"], -t["clicks"], t["term"]))[:limit]
    for item in ordered:
        item["spend"] = money(item["spend"])
        item["ctr"] = _ratio(item["clicks"], item["impressions"], 100)
    return ordered


def reconciliation(*, viewer: Viewer, filters: ReportFilters) -> list[dict]:
    """Ledger against rollups per campaign and ad day: the ledger's charges less credits, the rollups'
    spend, and the CPM spend accrued but not yet moved to the ledger; `difference` = rollups −
    accrued − ledger, which should be zero on every row (a non-zero row is listed with it)."""
    if not viewer.analyst:
        raise ApplicationError(_("Reconciliation is for analysts. Ask an analyst if your figures look wrong."),
                               {"code": "forbidden"})
    filters = filters_scoped(viewer=viewer, filters=filters)
    rows: dict[tuple, dict] = {}

    def row(campaign_id, day):
        return rows.setdefault((campaign_id, day), {"campaign_id": campaign_id, "ad_day": day, "ledger": ZERO,
                                                    "rollups": ZERO, "accrued": ZERO})

    ledger_where = _where(filters) & Q(kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.CREDIT])
    for item in (LedgerEntry.objects.filter(ledger_where).order_by().values("campaign_id", "ad_day")
                 .annotate(total=Sum("amount"))):
        row(item["campaign_id"], item["ad_day"])["ledger"] = -Decimal(item["total"]).quantize(FINE)
    for item in campaign_rollups(filters=filters).values("campaign_id", "ad_day").annotate(total=Sum("spend")):
        row(item["campaign_id"], item["ad_day"])["rollups"] = Decimal(item["total"]).quantize(FINE)
    accrued_where = _where(filters) & Q(cost__gt=0, ledger_entry__isnull=True, credited_at__isnull=True,
                                        invalid_reason="")
    for item in (Impression.objects.filter(accrued_where).order_by().values("campaign_id", "ad_day")
                 .annotate(total=Sum("cost"))):
        row(item["campaign_id"], item["ad_day"])["accrued"] = Decimal(item["total"]).quantize(FINE)
    names = dict(Campaign.objects.filter(id__in={key[0] for key in rows}).values_list("id", "name"))
    out = []
    for key in sorted(rows, key=lambda k: (k[1], k[0])):
        item = rows[key]
        item["campaign_name"] = names.get(item["campaign_id"], "")
        item["difference"] = item["rollups"] - item["accrued"] - item["ledger"]
        out.append(item)
    return out


def filter_choices(*, viewer: Viewer) -> dict:
    """What the filter form offers the viewer, as (id, label) pairs: only its own campaigns and
    keywords (read as plain values: a thousand campaigns need no model instances)."""
    campaigns = Campaign.objects.order_by("advertiser__name", "name")
    keywords = CampaignKeyword.objects.filter(negative=False).order_by("text")
    if viewer.advertiser_id is not None:
        campaigns = campaigns.filter(advertiser_id=viewer.advertiser_id)
        keywords = keywords.filter(campaign__advertiser_id=viewer.advertiser_id)
    choices = {
        "campaigns": [(pk, f"{advertiser} · {name}" if viewer.analyst else name)
                      for pk, name, advertiser in campaigns.values_list("id", "name", "advertiser__name")],
        "keywords": [(pk, f"{text} ({campaign})")
                     for pk, text, campaign in keywords.values_list("id", "text", "campaign__name")[:500]],
        "placements": [(pk, placement_label(kind=kind, name=name, slug=slug)) for pk, kind, name, slug in
                       Placement.objects.order_by("slug").values_list("id", "kind", "name", "slug")],
        "pricing": Campaign.Pricing.choices}
    if viewer.analyst:
        from ads.models import Advertiser  # noqa: PLC0415

        choices["advertisers"] = list(Advertiser.objects.order_by("name").values_list("id", "name"))
    return choices
