"""Money for sponsored slots: CPC charges, CPM accrual and its flush to the ledger, daily pacing,
out-of-budget statuses and the ad day's reset, credits for billed events later found invalid.

Invariants (tests/ads/test_billing_*.py check them under concurrency and with Hypothesis):

- A campaign's counters move only by one conditional UPDATE of its row, which adds the price to
  today's spend, the total spend (and, for CPM, the accrued spend) only when the sum stays within
  the daily budget, the total budget and the pacing allowance. Nothing reads the row first and
  writes it later, so no campaign row is locked per event beyond that one statement's transaction.
- The balance is a separate conditional UPDATE of the advertiser's row (balance − accrued ≥ price)
  in the same transaction as the campaign's and as the ledger entry; if it refuses, the savepoint
  undoes the campaign's update too. An UPDATE on the campaign that read the balance in a subquery
  would not do: under READ COMMITTED two campaigns of one advertiser could both see the same
  balance. Rows are always taken campaign first, then advertiser, so charges cannot deadlock.
- For every campaign, at every moment: −(its charges and credits in the ledger) + accrued = total
  spend. For every advertiser: balance = the ledger's sum, and balance − accrued ≥ 0.
"""
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Round
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from ads.models import Advertiser, Campaign, CampaignChange, Click, Impression, InvalidReason, LedgerEntry
from contentlib.errors import ApplicationError
from contentlib.readers import ad_day
from contentlib.tasks_queue import queue_on_commit

logger = logging.getLogger(__name__)

FINE = Decimal("0.0001")
ZERO = Decimal("0")
THOUSAND = Decimal(1000)
SYSTEM = "system"


def fine(value) -> Decimal:
    """An amount kept to 0.0001 CNY."""
    return Decimal(value).quantize(FINE)


def decimal_sum(queryset, field: str) -> Decimal:
    """The exact sum of a decimal column (SQLite sums decimals as floats, so there it is added here)."""
    if connection.vendor == "sqlite":
        return sum((Decimal(v) for v in queryset.values_list(field, flat=True)), ZERO).quantize(FINE)
    return fine(queryset.aggregate(total=Sum(field))["total"] or ZERO)


def _r(expression):
    """Sums in SQL, kept to 0.0001. A no-op on PostgreSQL (numeric is exact); on SQLite, whose decimals
    are floats, it keeps 0.1 + 0.2 from becoming 0.30000000000000004 and a difference from going
    below zero by 1e-17, so that its comparisons and CHECK constraints see the amounts meant."""
    return Round(expression, 4, output_field=DecimalField(max_digits=18, decimal_places=4))


# --- Pacing -------------------------------------------------------------------------------------

def pace_share(*, hours, at: dt.datetime) -> float:
    """The share of its daily budget a campaign may have spent by `at`: the share of today's running
    hours (business time zone) elapsed, plus one pacing interval; 1.0 without pacing."""
    interval = settings.AD_PACING_INTERVAL_MINUTES
    if interval <= 0:
        return 1.0
    local = timezone.localtime(at, ZoneInfo(settings.AD_TIME_ZONE))
    running = sorted({int(h) for h in hours}) if hours else list(range(24))
    minute_now = local.hour * 60 + local.minute + local.second / 60.0
    elapsed = sum(min(60.0, max(0.0, minute_now - h * 60)) for h in running)
    return min(1.0, (elapsed + interval) / (60.0 * len(running)))


def pace_allows(*, spend_today: Decimal, daily_budget: Decimal, hours, at: dt.datetime) -> bool:
    """Eligible while today's spend ≤ daily budget × (share of running hours elapsed + one interval)."""
    return spend_today <= daily_budget * Decimal(repr(pace_share(hours=hours, at=at)))


def today_spend(campaign: Campaign, day: dt.date) -> Decimal:
    """The campaign's spend on ad day `day` (its counter belongs to another day: nothing yet)."""
    return campaign.spend_today if campaign.spend_day == day else ZERO


def unit_cost(campaign: Campaign) -> Decimal:
    """The most one more click (CPC) or impression (CPM) can cost it: its bid."""
    return campaign.max_bid if campaign.pricing == Campaign.Pricing.CPC else fine(campaign.max_bid / THOUSAND)


# --- The conditional update ---------------------------------------------------------------------

class _Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _spend(*, campaign_id: int, advertiser_id: int, price: Decimal, at: dt.datetime, hours, accrue: bool) -> dict:
    """Adds `price` to the campaign's counters and takes it from the advertiser's balance (CPC) or
    adds it to the advertiser's accrued spend (CPM), or raises _Refused with the limit that refused.
    Returns the campaign's counters and limits after it, and the advertiser's balance and currency.
    Runs inside the caller's transaction; the caller's savepoint undoes a half-done spend."""
    day = ad_day(at)
    share = Decimal(repr(pace_share(hours=hours, at=at)))
    if connection.vendor == "postgresql":
        return _spend_in_one_statement(campaign_id=campaign_id, advertiser_id=advertiser_id, price=price, day=day,
                                       share=share, accrue=accrue, at=at)
    spent_today = Case(When(spend_day=day, then=F("spend_today")), default=Value(ZERO))
    updated = (Campaign.objects.filter(id=campaign_id)
               .filter(LessThanOrEqual(_r(F("spend_total") + price), F("total_budget")))
               .filter(LessThanOrEqual(_r(spent_today + price), F("daily_budget")))
               .filter(LessThanOrEqual(spent_today, F("daily_budget") * share))
               .update(spend_today=_r(spent_today + price), spend_day=day, spend_total=_r(F("spend_total") + price),
                       accrued=_r(F("accrued") + (price if accrue else ZERO))))
    if not updated:
        raise _Refused(_refusal(campaign_id, price, at, share))
    money = Advertiser.objects.filter(id=advertiser_id, balance__gte=_r(F("accrued") + price))
    if accrue:
        paid = money.update(accrued=_r(F("accrued") + price))
    else:
        paid = money.update(balance=_r(F("balance") - price))
    if not paid:
        raise _Refused(InvalidReason.BALANCE)
    after = Campaign.objects.filter(id=campaign_id).values(*_AFTER[:-2]).get()
    after.update(Advertiser.objects.filter(id=advertiser_id).values("balance", "currency").get())
    return after


_AFTER = ("spend_today", "spend_total", "daily_budget", "total_budget", "max_bid", "pricing", "status", "balance",
          "currency")

# The same two conditional updates in one round trip: the campaign's (its limits), then the
# advertiser's (its balance), which runs only if the campaign's did. An UPDATE re-checks its WHERE
# on the latest version of a row another transaction changed, so neither limit can be passed;
# the advertiser's refusal comes back as a NULL balance, and the caller's savepoint undoes the
# campaign's half.
_CAMPAIGN_SPEND = """
    UPDATE ads_campaign SET
        spend_today = (CASE WHEN spend_day = %(day)s THEN spend_today ELSE 0 END) + %(price)s,
        spend_day = %(day)s, spend_total = spend_total + %(price)s, accrued = accrued + %(accrue)s
    WHERE id = %(campaign)s
      AND spend_total + %(price)s <= total_budget
      AND (CASE WHEN spend_day = %(day)s THEN spend_today ELSE 0 END) + %(price)s <= daily_budget
      AND (CASE WHEN spend_day = %(day)s THEN spend_today ELSE 0 END) <= daily_budget * %(share)s
    RETURNING spend_today, spend_total, daily_budget, total_budget, max_bid, pricing, status"""
_ADVERTISER_SPEND = """
    UPDATE ads_advertiser SET balance = balance - %(debit)s, accrued = accrued + %(accrue)s
    WHERE id = %(advertiser)s AND balance >= accrued + %(price)s AND EXISTS (SELECT 1 FROM c)
    RETURNING balance, currency"""
_SPEND_SQL = f"""
WITH c AS ({_CAMPAIGN_SPEND}
), a AS ({_ADVERTISER_SPEND}
)
SELECT c.spend_today, c.spend_total, c.daily_budget, c.total_budget, c.max_bid, c.pricing, c.status,
       a.balance, a.currency
FROM c LEFT JOIN a ON true
"""


def _spend_in_one_statement(*, campaign_id, advertiser_id, price, day, share, accrue, at) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(_SPEND_SQL, {"day": day, "price": price, "accrue": price if accrue else ZERO,
                                    "debit": ZERO if accrue else price, "campaign": campaign_id,
                                    "advertiser": advertiser_id, "share": share})
        row = cursor.fetchone()
    if row is None:
        raise _Refused(_refusal(campaign_id, price, at, share))
    after = dict(zip(_AFTER, row, strict=True))
    if after["balance"] is None:
        raise _Refused(InvalidReason.BALANCE)
    return after


def _refusal(campaign_id: int, price: Decimal, at: dt.datetime, share: Decimal) -> str:
    """Which limit refused a spend (read after the fact: only to name the reason)."""
    campaign = Campaign.objects.get(id=campaign_id)
    spent = today_spend(campaign, ad_day(at))
    if campaign.spend_total + price > campaign.total_budget:
        return InvalidReason.BUDGET
    if spent + price > campaign.daily_budget:
        return InvalidReason.DAILY_BUDGET
    if spent > campaign.daily_budget * share:
        return InvalidReason.PACED
    return InvalidReason.BUDGET  # changed between the update and this read: say budget


def _ledger_write(*, advertiser_id: int, kind: str, amount: Decimal, note: str, campaign_id: int,
                  keyword_id: int | None, placement_id: int | None, day: dt.date, units: int, event: str = "",
                  reverses_id: int | None = None, actor=None, actor_name: str = SYSTEM,
                  advertiser: dict | None = None) -> LedgerEntry:
    """The ledger entry of a balance change the caller already made (its row is locked by that
    update); `advertiser` is its balance and currency after it, when the update returned them."""
    advertiser = advertiser or Advertiser.objects.values("balance", "currency").get(id=advertiser_id)
    return LedgerEntry.objects.create(
        advertiser_id=advertiser_id, kind=kind, amount=amount, currency=advertiser["currency"],
        balance_after=advertiser["balance"], note=note, campaign_id=campaign_id, keyword_id=keyword_id,
        placement_id=placement_id, ad_day=day, units=units, event=event, reverses_id=reverses_id,
        actor=actor, actor_name=actor_name)


@dataclass(frozen=True)
class Charge:
    entry_id: int | None  # the charge's ledger entry, None when not charged
    reason: str  # "" when charged, else an InvalidReason code (budget, daily_budget, balance, paced, repeat)


def cpc_charge(*, click: Click, target, at: dt.datetime) -> Charge:
    """Charges a valid first click at its impression's price (`target`: ads.events.ClickTarget),
    writing the click (billed or with the reason it was not) and its ledger entry in one
    transaction. A second billed click on the same impression, however concurrent, breaks the
    click_billed_once constraint and is recorded "repeat"."""
    price = target.price
    entry = LedgerEntry(
        advertiser_id=target.advertiser_id, kind=LedgerEntry.Kind.CHARGE, amount=-price,
        note=f"CPC {target.campaign_name}", campaign_id=target.campaign_id, keyword_id=target.keyword_id,
        placement_id=target.placement_id, ad_day=ad_day(at), units=1, event=f"click:{click.id}", actor_name=SYSTEM)
    click.billed, click.amount, click.reason = True, price, ""
    try:
        if connection.vendor == "postgresql":
            after, entry_id = _charge_in_one_statement(click=click, entry=entry, target=target, at=at)
        else:
            with transaction.atomic():
                after = _spend(campaign_id=target.campaign_id, advertiser_id=target.advertiser_id, price=price, at=at,
                               hours=target.hours, accrue=False)
                entry.currency, entry.balance_after = after["currency"], after["balance"]
                entry.save(force_insert=True)
                click.ledger_entry = entry
                click.save(force_insert=True)
                entry_id = entry.id
    except _Refused as refused:
        reason = refused.reason
    except IntegrityError as error:
        if connection.vendor == "postgresql" and _constraint_of(error) != "click_billed_once":
            raise  # not a repeat: a bug to see, not a reason to record
        reason = InvalidReason.REPEAT
    else:
        statuses_update(campaign_id=target.campaign_id, at=at, counters=after)
        return Charge(entry_id, "")
    click.billed, click.amount, click.ledger_entry, click.reason = False, ZERO, None, reason
    click.save(force_insert=True)
    statuses_update(campaign_id=target.campaign_id, at=at)
    return Charge(None, reason)


def _constraint_of(error) -> str:
    diag = getattr(error.__cause__, "diag", None)
    return (getattr(diag, "constraint_name", "") or "") if diag is not None else ""


def _row_values(instance, *, skip=()) -> tuple[list[str], list]:
    """The columns and database values of an unsaved model instance, as Django's INSERT makes them."""
    columns, values = [], []
    for field in instance._meta.concrete_fields:
        if field.attname in skip or (field.primary_key and getattr(instance, field.attname) is None):
            continue
        columns.append(field.column)
        values.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return columns, values


# A CPC charge in one statement, its own transaction in autocommit (no BEGIN or COMMIT round trip):
# _SPEND_SQL's two conditional updates, then the ledger entry with the advertiser's balance after
# them, then the billed click naming that entry. If the campaign's update refuses, nothing is
# written and no row comes back. If the advertiser's refuses, its balance is NULL, the ledger
# entry's balance_after (NOT NULL) refuses it, and PostgreSQL undoes the whole statement, the
# campaign's update included: the same all-or-nothing as the savepoint of the other databases'
# path. A second billed click breaks click_billed_once and undoes everything the same way.
_CHARGE_SQL = """
WITH c AS ({campaign}
), a AS ({advertiser}
), l AS (
    INSERT INTO ads_ledgerentry ({entry_columns}, currency, balance_after)
    SELECT {entry_values}, (SELECT currency FROM a), (SELECT balance FROM a) FROM c
    RETURNING id
), k AS (
    INSERT INTO ads_click ({click_columns}, ledger_entry_id) SELECT {click_values}, l.id FROM l
)
SELECT c.spend_today, c.spend_total, c.daily_budget, c.total_budget, c.max_bid, c.pricing, c.status,
       a.balance, a.currency, l.id
FROM c LEFT JOIN a ON true LEFT JOIN l ON true
"""


@lru_cache(maxsize=4)
def _charge_sql(entry_columns: tuple[str, ...], click_columns: tuple[str, ...]) -> str:
    return _CHARGE_SQL.format(
        campaign=_CAMPAIGN_SPEND, advertiser=_ADVERTISER_SPEND, entry_columns=", ".join(entry_columns),
        entry_values=", ".join(f"%(e{n})s" for n in range(len(entry_columns))), click_columns=", ".join(click_columns),
        click_values=", ".join(f"%(k{n})s" for n in range(len(click_columns))))


def _statement_transaction():
    """A savepoint when the caller holds a transaction open (a refused statement must not end it);
    else nothing: in autocommit the one statement is its own transaction."""
    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()


def _charge_in_one_statement(*, click: Click, entry: LedgerEntry, target, at: dt.datetime):
    """Returns the campaign's counters after the charge and the ledger entry's id; raises _Refused
    (a campaign limit, or the balance) or IntegrityError (click_billed_once: a repeat)."""
    entry_columns, entry_values = _row_values(entry, skip=("currency", "balance_after"))
    click_columns, click_values = _row_values(click, skip=("ledger_entry_id",))
    sql = _charge_sql(tuple(entry_columns), tuple(click_columns))
    share = Decimal(repr(pace_share(hours=target.hours, at=at)))
    parameters = {"day": ad_day(at), "price": target.price, "accrue": ZERO, "debit": target.price,
                  "campaign": target.campaign_id, "advertiser": target.advertiser_id, "share": share,
                  **{f"e{n}": value for n, value in enumerate(entry_values)},
                  **{f"k{n}": value for n, value in enumerate(click_values)}}
    with _statement_transaction(), connection.cursor() as cursor:
        try:
            cursor.execute(sql, parameters)
        except IntegrityError as error:
            if getattr(getattr(error.__cause__, "diag", None), "column_name", "") in ("balance_after", "currency"):
                raise _Refused(InvalidReason.BALANCE) from error
            raise
        row = cursor.fetchone()
    if row is None:
        raise _Refused(_refusal(target.campaign_id, target.price, at, share))
    after = dict(zip(_AFTER, row[:-1], strict=True))
    return after, row[-1]


def cpm_accrue(*, impression: Impression, at: dt.datetime) -> str:
    """Adds a viewable CPM impression's price to its campaign's accrued spend (and its advertiser's)
    by the same conditional update as a click; returns "" or the reason it was not billed. The
    ledger entry follows in the next flush. Inside the caller's transaction."""
    campaign = impression.campaign
    try:
        with transaction.atomic():
            after = _spend(campaign_id=campaign.id, advertiser_id=campaign.advertiser_id, price=impression.price,
                           at=at, hours=campaign.hours, accrue=True)
            Impression.objects.filter(id=impression.id).update(cost=impression.price)
    except _Refused as refused:
        Impression.objects.filter(id=impression.id).update(unbilled_reason=refused.reason)
        statuses_update(campaign_id=campaign.id, at=at)
        return refused.reason
    statuses_update(campaign_id=campaign.id, at=at, counters=after)
    return ""


# --- CPM: accrued spend into the ledger -----------------------------------------------------------

def cpm_flush(*, campaign_ids=None) -> int:
    """Moves every campaign's accrued CPM spend into the ledger: one charge per campaign × keyword ×
    placement × ad day, each naming how many impressions it bills. Returns the entries written.
    Safe to run twice or in two workers at once: an impression charged in a batch is never charged
    again, and what is still accrued stays counted until a flush moves it."""
    queryset = Campaign.objects.filter(accrued__gt=0)
    if campaign_ids is not None:
        queryset = queryset.filter(id__in=list(campaign_ids))
    written = 0
    for campaign_id in queryset.values_list("id", flat=True):
        written += _flush_one(campaign_id)
    return written


def _flush_one(campaign_id: int) -> int:
    with transaction.atomic():
        # The campaign's row is locked for the flush (not per impression): an accrual waiting on it
        # commits after the flush and is left for the next one, so ledger + accrued never moves.
        campaign = Campaign.objects.select_for_update().get(id=campaign_id)
        Advertiser.objects.select_for_update().get(id=campaign.advertiser_id)
        pending = Impression.objects.filter(campaign_id=campaign_id, cost__gt=0, ledger_entry__isnull=True,
                                            credited_at__isnull=True)
        groups = list(pending.order_by().values("keyword_id", "placement_id", "ad_day").annotate(n=Count("id")))
        total = ZERO
        for group in groups:
            rows = pending.filter(keyword_id=group["keyword_id"], placement_id=group["placement_id"],
                                  ad_day=group["ad_day"])
            amount = decimal_sum(rows, "cost")
            Advertiser.objects.filter(id=campaign.advertiser_id).update(balance=_r(F("balance") - amount),
                                                                        accrued=_r(F("accrued") - amount))
            entry = _ledger_write(
                advertiser_id=campaign.advertiser_id, kind=LedgerEntry.Kind.CHARGE, amount=-amount,
                note=f"CPM {campaign.name}: {group['n']}", campaign_id=campaign_id, keyword_id=group["keyword_id"],
                placement_id=group["placement_id"], day=group["ad_day"], units=group["n"])
            rows.update(ledger_entry=entry)
            total += amount
        if total:
            Campaign.objects.filter(id=campaign_id).update(accrued=_r(F("accrued") - total))
        return len(groups)


# --- Statuses: out of daily or total budget, the ad day's reset -----------------------------------

def _status_set(campaign_id: int, old: str, new: str) -> bool:
    changed = Campaign.objects.filter(id=campaign_id, status=old).update(status=new, updated_at=timezone.now())
    if changed:
        CampaignChange.objects.create(campaign_id=campaign_id, field="status", old=old, new=new, actor_name=SYSTEM)
    return bool(changed)


def statuses_update(*, campaign_id: int, at: dt.datetime | None = None, counters: dict | None = None) -> str:
    """Marks a running campaign out of its total or daily budget once it cannot pay for one more
    click or impression at its bid; returns its status. `counters`: the campaign's counters and
    limits as the spend that just committed returned them (then nothing is read)."""
    at = at or timezone.now()
    if counters is not None:
        campaign = Campaign(id=campaign_id, spend_day=ad_day(at), **{k: counters[k] for k in _AFTER[:-2]})
    else:
        campaign = Campaign.objects.get(id=campaign_id)
    if campaign.status != Campaign.Status.ACTIVE:
        return campaign.status
    unit = unit_cost(campaign)
    if campaign.spend_total + unit > campaign.total_budget:
        _status_set(campaign_id, Campaign.Status.ACTIVE, Campaign.Status.OUT_OF_BUDGET)
        return Campaign.Status.OUT_OF_BUDGET
    if today_spend(campaign, ad_day(at)) + unit > campaign.daily_budget:
        _status_set(campaign_id, Campaign.Status.ACTIVE, Campaign.Status.OUT_OF_DAILY_BUDGET)
        return Campaign.Status.OUT_OF_DAILY_BUDGET
    return campaign.status


def daily_budgets_reset(*, at: dt.datetime | None = None, campaign_ids=None) -> int:
    """At the start of an ad day, runs again every campaign that was out of its daily budget on an
    earlier day (and any out of a budget since raised); returns how many. Beat runs it every minute."""
    at = at or timezone.now()
    today = ad_day(at)
    count = 0
    stopped = Campaign.objects.all() if campaign_ids is None else Campaign.objects.filter(id__in=list(campaign_ids))
    for campaign in stopped.filter(status=Campaign.Status.OUT_OF_DAILY_BUDGET).filter(
            Q(spend_day__lt=today) | Q(spend_day__isnull=True)):
        count += _status_set(campaign.id, Campaign.Status.OUT_OF_DAILY_BUDGET, Campaign.Status.ACTIVE)
    for campaign in stopped.filter(status__in=[Campaign.Status.OUT_OF_BUDGET, Campaign.Status.OUT_OF_DAILY_BUDGET]):
        unit = unit_cost(campaign)
        if campaign.spend_total + unit <= campaign.total_budget and \
                today_spend(campaign, today) + unit <= campaign.daily_budget:
            count += _status_set(campaign.id, campaign.status, Campaign.Status.ACTIVE)
    return count


# --- Credits: billed events later found invalid ----------------------------------------------------

def event_credit(*, event: str, actor, reason: str, invalid_reason: str = "") -> LedgerEntry:
    """Credits back one billed click (`click:<id>`) or viewable CPM impression (`impression:<id>`)
    found invalid later: a credit entry reversing its charge and naming the event, the campaign's
    spend reduced by its price, and the event marked credited so that rollups leave it out."""
    from ads.services import _check_staff  # noqa: PLC0415

    _check_staff(actor, "ads.manage_balance")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why the event is credited; the reason is kept in the ledger."),
                               {"field": "reason"})
    kind, _sep, event_id = (event or "").strip().partition(":")
    model = {"click": Click, "impression": Impression}.get(kind)
    try:
        key = uuid.UUID(event_id)
    except ValueError:
        key = None
    found = model.objects.filter(id=key).select_related("campaign").first() if model and key else None
    if found is None:
        raise ApplicationError(_("There is no event “%(event)s”. Give click:<id> or impression:<id> as shown in "
                                 "admin.") % {"event": event}, {"field": "event"})
    if kind == "impression" and found.cost > 0 and found.ledger_entry_id is None and found.credited_at is None:
        cpm_flush(campaign_ids=[found.campaign_id])  # charge its batch first: the credit reverses a charge
        found.refresh_from_db()
    amount = found.amount if kind == "click" else found.cost
    charge_id = found.ledger_entry_id
    if found.credited_at is not None:
        raise ApplicationError(_("This %(kind)s was credited already, on %(when)s; nothing was done.")
                               % {"kind": kind, "when": found.credited_at}, {"code": "noop"})
    if charge_id is None or amount <= 0:
        raise ApplicationError(_("This %(kind)s was never billed, so there is nothing to credit.") % {"kind": kind},
                               {"code": "noop"})
    now = timezone.now()
    campaign = found.campaign
    with transaction.atomic():
        day = found.ad_day
        spent_today = Case(When(spend_day=day, then=_r(F("spend_today") - amount)), default=F("spend_today"))
        Campaign.objects.filter(id=campaign.id).update(spend_total=_r(F("spend_total") - amount), spend_today=spent_today)
        marked = model.objects.filter(id=found.id, credited_at__isnull=True).update(credited_at=now)
        if not marked:
            raise ApplicationError(_("This %(kind)s was credited already; nothing was done.") % {"kind": kind},
                                   {"code": "noop"})
        Advertiser.objects.filter(id=campaign.advertiser_id).update(balance=_r(F("balance") + amount))
        note = f"{reason} [{event}]" + (f" ({invalid_reason})" if invalid_reason else "")
        # The rollups of the event's day leave it out from now on.
        queue_on_commit("ads.tasks.rollups_recompute", day.isoformat())
        return _ledger_write(advertiser_id=campaign.advertiser_id, kind=LedgerEntry.Kind.CREDIT, amount=amount,
                             note=note, campaign_id=campaign.id, keyword_id=found.keyword_id,
                             placement_id=found.placement_id, day=day, units=1, event=event, reverses_id=charge_id,
                             actor=actor, actor_name=actor.get_username() if actor is not None else SYSTEM)


# --- Checks ----------------------------------------------------------------------------------------

def campaign_books(campaign_id: int) -> dict:
    """The campaign's counters beside what its ledger says (the invariant every test checks)."""
    campaign = Campaign.objects.get(id=campaign_id)
    ledger = -decimal_sum(LedgerEntry.objects.filter(campaign_id=campaign_id), "amount")
    return {"spend_total": campaign.spend_total, "accrued": campaign.accrued, "ledger": ledger,
            "agree": ledger + campaign.accrued == campaign.spend_total}
