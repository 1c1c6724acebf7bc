"""Advertisers and their users, paid article submissions, campaigns with keywords and promotions,
reviews, verified domains, the money ledger and the notices sent to advertisers.

Nothing here is ever deleted: advertisers, campaigns, promotions and ledger rows are archived or
reversed (`on_delete=PROTECT` everywhere money or an audit row points).
"""
import functools
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MONEY = {"max_digits": 14, "decimal_places": 2}
# What is spent and charged is kept to 0.0001 CNY (a CPM impression's price), so that nothing is
# ever rounded or carried; amounts people enter (bids, budgets, top-ups) stay whole cents.
FINE_MONEY = {"max_digits": 18, "decimal_places": 4}


class Advertiser(models.Model):
    """An enterprise that submits articles and pays for sponsored placements."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied, awaiting approval")
        ACTIVE = "active", _("Active")
        REFUSED = "refused", _("Refused")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True,
        help_text=_("统一社会信用代码: 18 characters, checked by its check character (GB 32100-2015)."),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    balance = models.DecimalField(
        _("balance"), default=Decimal("0.00"), **FINE_MONEY,
        help_text=_("Prepaid balance; always the sum of the ledger, written with each ledger entry."),
    )
    accrued = models.DecimalField(
        _("accrued CPM spend"), default=Decimal("0"), **FINE_MONEY,
        help_text=_("Viewable impressions' price not yet charged in the ledger (its campaigns' accrued spend); "
                    "the balance minus this is what is left to spend."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    refusal_reason = models.TextField(_("refusal reason"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by_name = models.CharField(_("decided by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("advertiser")
        verbose_name_plural = _("advertisers")
        ordering = ["name"]
        permissions = [
            ("decide_advertiser", "Can approve, refuse, suspend and close advertisers"),
            ("manage_balance", "Can top up, refund and credit advertisers' balances"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["credit_code"], condition=~Q(credit_code=""),
                                    name="advertiser_credit_code_unique"),
            models.CheckConstraint(condition=~Q(status="refused") | ~Q(refusal_reason=""),
                                   name="advertiser_refusal_has_reason"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def may_run(self) -> bool:
        """True when its users may submit, edit and resume (approved and not suspended or closed)."""
        return self.status == self.Status.ACTIVE

    @property
    def left_to_spend(self) -> Decimal:
        """The balance less the CPM spend accrued but not yet charged in the ledger: what campaigns may
        still spend (the portal shows it, the balance emails compare it)."""
        return self.balance - self.accrued


class AdvertiserUser(models.Model):
    """A portal user's place in one advertiser: owner, member, or read-only reporter."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")
        REPORTER = "reporter", _("Reporter (read only)")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                                related_name="advertiser_membership")
    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="members")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("enterprise user")
        verbose_name_plural = _("enterprise users")
        ordering = ["advertiser", "role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.advertiser.name}, {self.get_role_display()})"

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.MEMBER)

    @property
    def can_invite(self) -> bool:
        return self.role == self.Role.OWNER


class Submission(models.Model):
    """What an enterprise submitted for one library article: its Markdown, suggested keywords and
    the flags an editor sees (a near-duplicate in the library, 广告法 article-9 absolute terms)."""

    article = models.OneToOneField("contentlib.Article", verbose_name=_("article"), on_delete=models.PROTECT,
                                   related_name="submission")
    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="submissions")
    body_markdown = models.TextField(_("body (Markdown)"))
    markdown_versions = models.JSONField(
        _("Markdown by version"), default=dict, blank=True,
        help_text=_("The Markdown of each version submitted, by the content hash of its text, so that a "
                    "rejected edit leaves the published version's Markdown to edit."),
    )
    suggested_keywords = models.JSONField(_("suggested keywords"), default=list, blank=True)
    near_duplicate_of = models.ForeignKey(
        "contentlib.Article", verbose_name=_("near-duplicate of"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        help_text=_("A library article this submission copies, found by the near-duplicate check."),
    )
    similarity = models.FloatField(_("similarity"), null=True, blank=True)
    banned_terms = models.JSONField(
        _("absolute terms"), default=list, blank=True,
        help_text=_("Terms banned in advertising by article 9 of the Advertising Law found in the text."),
    )
    submitted_by_name = models.CharField(_("submitted by"), max_length=150)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return str(self.article)


class VerifiedDomain(models.Model):
    """A domain an advertiser proves it controls (a token file or a meta tag); landing URLs must be on one."""

    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="domains")
    domain = models.CharField(_("domain"), max_length=253)
    token = models.CharField(_("token"), max_length=64)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("verified domain")
        verbose_name_plural = _("verified domains")
        ordering = ["domain"]
        constraints = [models.UniqueConstraint(fields=["advertiser", "domain"], name="domain_unique_per_advertiser")]

    def __str__(self) -> str:
        return self.domain


class Review(models.TextChoices):
    """Where one reviewable part (a keyword, a promotion) stands."""

    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Campaign(models.Model):
    class Pricing(models.TextChoices):
        CPC = "cpc", _("Cost per click (CPC)")
        CPM = "cpm", _("Cost per thousand impressions (CPM)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Pending review")
        REJECTED = "rejected", _("Rejected")
        ACTIVE = "active", pgettext_lazy("campaign status", "Running")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")
        OUT_OF_DAILY_BUDGET = "out_of_daily_budget", _("Out of daily budget (resumes next ad day)")
        OUT_OF_BUDGET = "out_of_budget", _("Out of total budget (top up or raise it)")
        ARCHIVED = "archived", _("Archived")

    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    pricing = models.CharField(_("pricing"), max_length=3, choices=Pricing.choices, default=Pricing.CPC)
    max_bid = models.DecimalField(_("max bid"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))],
                                  help_text=_("CNY per click (CPC) or per thousand impressions (CPM)."))
    daily_budget = models.DecimalField(_("daily budget"), **MONEY)
    total_budget = models.DecimalField(_("total budget"), **MONEY)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    hours = models.JSONField(
        _("hours of the day"), default=list, blank=True,
        help_text=_("Hours (0-23, business time zone) when it may run; empty: all day."),
    )
    languages = models.JSONField(_("languages"), default=list, blank=True, help_text=_("Empty: every language."))
    categories = models.ManyToManyField("contentlib.Category", verbose_name=_("categories"), blank=True,
                                        related_name="+")
    frequency_cap = models.PositiveIntegerField(
        _("frequency cap"), null=True, blank=True,
        help_text=_("At most this many impressions to one reader in one ad day; empty for no cap."),
    )
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.DRAFT)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    # Spend counters, changed only by ads.billing's conditional updates. spend_total = the campaign's
    # charges in the ledger, less its credits, plus `accrued` (CPM not yet moved to the ledger).
    spend_today = models.DecimalField(_("spend on its ad day"), default=Decimal("0"), **FINE_MONEY)
    spend_day = models.DateField(_("ad day of that spend"), null=True, blank=True)
    spend_total = models.DecimalField(_("total spend"), default=Decimal("0"), **FINE_MONEY)
    accrued = models.DecimalField(_("accrued CPM spend"), default=Decimal("0"), **FINE_MONEY,
                                  help_text=_("Viewable impressions' price not yet in the ledger."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        permissions = [("review_campaign", "Can approve and reject campaigns")]
        constraints = [
            models.CheckConstraint(condition=Q(spend_total__lte=models.F("total_budget")) | Q(spend_total=0),
                                   name="campaign_spend_within_total"),
            models.CheckConstraint(condition=Q(spend_today__gte=0) & Q(spend_total__gte=0) & Q(accrued__gte=0),
                                   name="campaign_spend_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def language_labels(self) -> list[str]:
        names = {"zh": _("Chinese"), "en": _("English")}
        return [str(names.get(code, code)) for code in self.languages]

    @property
    def was_approved(self) -> bool:
        """True once an editor approved it: it runs, and only its changed parts wait for review."""
        return self.status in (self.Status.ACTIVE, self.Status.PAUSED, self.Status.OUT_OF_DAILY_BUDGET,
                               self.Status.OUT_OF_BUDGET, self.Status.ENDED)


class CampaignKeyword(models.Model):
    class Match(models.TextChoices):
        EXACT = "exact", _("Exact")
        PHRASE = "phrase", _("Phrase")
        BROAD = "broad", _("Broad")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="keywords")
    text = models.CharField(_("keyword"), max_length=100, help_text=_("Normalized (normalize_query)."))
    match_type = models.CharField(_("match type"), max_length=10, choices=Match.choices, default=Match.PHRASE)
    negative = models.BooleanField(_("negative"), default=False)
    bid = models.DecimalField(_("own bid"), null=True, blank=True, **MONEY)
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, default=Review.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    archived = models.BooleanField(_("removed"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign keyword")
        verbose_name_plural = _("campaign keywords")
        ordering = ["negative", "text", "match_type"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "text", "match_type", "negative"], condition=Q(archived=False),
                                    name="campaign_keyword_unique"),
        ]

    def __str__(self) -> str:
        return f"-{self.text}" if self.negative else f"{self.text} [{self.match_type}]"


class Promotion(models.Model):
    """One of the advertiser's own approved articles promoted by a campaign."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="promotions")
    article = models.ForeignKey("contentlib.Article", verbose_name=_("article"), on_delete=models.PROTECT,
                                related_name="promotions")
    headline = models.CharField(_("headline"), max_length=100, blank=True,
                                help_text=_("Shown instead of the article's title; optional."))
    landing_url = models.URLField(
        _("landing URL"), max_length=2000, blank=True,
        help_text=_("On a domain the advertiser verified; empty: a click opens the article's page here."),
    )
    banned_terms = models.JSONField(_("absolute terms"), default=list, blank=True)
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, default=Review.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "article"], condition=Q(archived=False),
                                    name="promotion_unique_per_campaign"),
        ]

    def __str__(self) -> str:
        return self.headline or str(self.article)


class CampaignChange(models.Model):
    """One change of a bid, a budget or the status: who, when, old and new."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="changes")
    field = models.CharField(_("field"), max_length=50)
    old = models.CharField(_("old value"), max_length=200, blank=True)
    new = models.CharField(_("new value"), max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("by"), max_length=150)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign change")
        verbose_name_plural = _("campaign changes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.field_label}: {self.old_display} → {self.new_display}"

    @property
    def field_label(self) -> str:
        return str(Campaign._meta.get_field(self.field).verbose_name)

    def _display(self, value: str) -> str:
        if self.field == "status" and value in Campaign.Status.values:
            return str(Campaign.Status(value).label)
        if self.field == "pricing" and value in Campaign.Pricing.values:
            return str(Campaign.Pricing(value).label)
        return value or "—"

    @property
    def old_display(self) -> str:
        return self._display(self.old)

    @property
    def new_display(self) -> str:
        return self._display(self.new)


class CampaignReview(models.Model):
    """One editor's decision on a campaign, or on its changed keywords and promotions."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="reviews")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("what was decided"), default=dict,
                              help_text=_("The campaign's status before and after, and the keywords and promotions decided."))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("editor"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("editor"), max_length=150)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign review")
        verbose_name_plural = _("campaign reviews")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(action="reject") | ~Q(reason=""),
                                              name="campaign_review_rejection_has_reason")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.actor_name}"


class LedgerEntry(models.Model):
    """One movement of an advertiser's money, append-only: corrections are new, reversing entries."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        CHARGE = "charge", _("Charge")
        REFUND = "refund", _("Refund")
        CREDIT = "credit", _("Credit")

    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="ledger")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **FINE_MONEY,
                                 help_text=_("Positive adds to the balance, negative takes from it."))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    balance_after = models.DecimalField(_("balance after"), **FINE_MONEY)
    # A charge or credit carries what it paid for, so that it never depends on raw events that
    # retention deletes: the campaign, keyword, placement, ad day and how many clicks or impressions.
    campaign = models.ForeignKey("Campaign", verbose_name=_("campaign"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="ledger")
    keyword = models.ForeignKey("CampaignKeyword", verbose_name=_("keyword"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    placement = models.ForeignKey("Placement", verbose_name=_("placement"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    ad_day = models.DateField(_("ad day"), null=True, blank=True)
    units = models.PositiveIntegerField(_("clicks or impressions"), default=0)
    event = models.CharField(_("event"), max_length=60, blank=True,
                             help_text=_("The click or impression charged or credited (click:<id>, impression:<id>)."))
    reverses = models.ForeignKey("self", verbose_name=_("reverses"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reversals")
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("by"), max_length=150)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(
                condition=(Q(kind="top_up", amount__gt=0) | Q(kind="credit", amount__gt=0)
                           | Q(kind="refund", amount__lt=0) | Q(kind="charge", amount__lt=0)),
                name="ledger_sign_follows_kind",
            ),
            # One charge per click, one credit per event: a retried write cannot bill twice.
            models.UniqueConstraint(fields=["kind", "event"], condition=~Q(event=""), name="ledger_event_once"),
        ]
        indexes = [models.Index(fields=["campaign", "ad_day"], name="ledger_campaign_day")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class Notice(models.Model):
    """An email sent to an advertiser's owner, keyed by its event so that it is sent once."""

    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="notices")
    key = models.CharField(_("event"), max_length=200, unique=True)
    to = models.CharField(_("to"), max_length=300)
    subject = models.CharField(_("subject"), max_length=300)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at"]


class Placement(models.Model):
    """Where sponsored slots are shown: a page type of this site, or a widget on another host."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question page")
        ARTICLE = "article", _("Article page")
        SEARCH = "search", _("Search results")
        HOME = "home", _("Home page")
        ARTICLE_LIST = "article_list", _("Article list")
        ASK_WAIT = "ask_wait", _("Page waiting for an answer")
        WIDGET = "widget", _("Widget on another site")

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.QUESTION)
    name = models.CharField(_("name"), max_length=200, blank=True)
    allowed_domains = models.JSONField(
        _("allowed domains"), default=list, blank=True,
        help_text=_("For a widget: the hosts that may embed it (example.com also allows its subdomains)."),
    )
    slots = models.PositiveSmallIntegerField(_("slots"), default=2, validators=[MinValueValidator(1)])
    reserve_cpc = models.DecimalField(
        _("reserve price per click"), **MONEY, default=Decimal("0.30"),
        help_text=_("CNY: the least a click is sold for here, and the least a CPC bid must be."),
    )
    reserve_cpm = models.DecimalField(
        _("reserve price per thousand impressions"), **MONEY, default=Decimal("5.00"),
        help_text=_("CNY per thousand impressions: the least a CPM bid must be."),
    )
    # The Beta prior of the click-through rate here: a new campaign is ranked as if it had had
    # `ctr_prior_clicks` clicks in `ctr_prior_impressions` impressions (Tracking adds real counts).
    ctr_prior_clicks = models.FloatField(_("prior clicks"), default=1.0)
    ctr_prior_impressions = models.FloatField(_("prior impressions"), default=50.0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        ordering = ["slug"]
        constraints = [models.CheckConstraint(condition=Q(ctr_prior_impressions__gt=0) & Q(ctr_prior_clicks__gte=0),
                                              name="placement_ctr_prior_positive")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name to show (reports, exports, the portal, admin), in the active language."""
        return placement_label(kind=self.kind, name=self.name, slug=self.slug)


@functools.cache
def _default_names(kind: str) -> frozenset[str]:
    """The names a page type's placement is made with: its kind's label in English (the migrations
    and the site write that), or in any language of the site (older demo data)."""
    label = Placement.Kind(kind).label
    names = set()
    for code in (None, *dict(settings.LANGUAGES)):  # None: no translation, the English msgid
        with translation.override(code):
            names.add(str(label))
    return frozenset(names)


def placement_label(*, kind: str, name: str, slug: str) -> str:
    """A placement's name to show: under its kind's default name (as the migrations, the site and
    the demo make the site's page types: "Question page", "Search results", ...) the kind's label
    translated into the active language; a name staff gave it, as typed; no name, the slug."""
    if name and kind in Placement.Kind.values and name in _default_names(kind):
        return str(Placement.Kind(kind).label)
    return name or slug


class AuctionLog(models.Model):
    """One auction request, whether or not anything won: fill rate, why each candidate lost, prices.

    `winners` holds full rows (campaign, advertiser, article, scores, price); `losers` is compact:
    {"floor": {"ids": [campaign ids ascending], "relevance_pct": [relevance in hundredths]},
    other reason code: [campaign id, or [id, relevance, score]]} (rows written before held
    [id, relevance] pairs under "floor"); ads.auction.logged_outcomes reads both back.
    """

    placement = models.ForeignKey(Placement, verbose_name=_("placement"), on_delete=models.PROTECT,
                                  related_name="auctions")
    question = models.ForeignKey("contentlib.Question", verbose_name=_("question"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    question_text = models.CharField(_("question"), max_length=500, help_text=_("Normalized."))
    language = models.CharField(_("language"), max_length=10, blank=True)
    reader_key = models.CharField(_("reader key"), max_length=64, blank=True)
    ad_day = models.DateField(_("ad day"))
    filled = models.PositiveSmallIntegerField(_("slots filled"), default=0)
    candidates = models.PositiveIntegerField(_("candidates"), default=0)
    winners = models.JSONField(_("winners"), default=list, blank=True)
    losers = models.JSONField(_("losers"), default=dict, blank=True)
    floor = models.FloatField(_("relevance floor"))
    duration_ms = models.FloatField(_("duration (ms)"), default=0.0)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("auction")
        verbose_name_plural = _("auctions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["placement", "ad_day"], name="auctionlog_placement_day"),
            # The whole site's fill rate over a range of days (ads.reports.fill_rate): an index-only
            # scan of those days instead of a scan of the whole log (bench/fill_rate.py).
            models.Index(fields=["ad_day", "filled"], name="auctionlog_day"),
        ]

    def __str__(self) -> str:
        return f"{self.placement_id} · {self.question_text[:40]} · {self.filled}"


class InvalidReason(models.TextChoices):
    """Why an impression or click is not billed: invalid traffic (the first group, ads.traffic decides
    it from the request), a bad token, or billing's own limits (the last group: valid traffic that the
    budgets, balance or pacing did not allow)."""

    BOT = "bot", _("Bot or crawler (user agent)")
    PREFETCH = "prefetch", _("Prefetch or preview request")
    TOO_FAST = "too_fast", _("Clicked sooner after serving than a person can")
    IP_LIMIT = "ip_limit", _("Over the click limit for its address")
    STAFF = "staff", _("Staff member")
    ENTERPRISE = "enterprise", _("Enterprise user")
    PREVIEW = "preview", _("Portal preview")
    UNKNOWN_BROWSER = "unknown_browser", _("Browser not recognized")
    BROWSER_MISMATCH = "browser_mismatch", _("Browser or OS differs from the impression's")
    TOKEN_TAMPERED = "token_tampered", _("Click token altered")
    TOKEN_EXPIRED = "token_expired", _("Click token expired")
    TOKEN_UNKNOWN = "token_unknown", _("Click token names no impression")
    REPEAT = "repeat", _("Repeat click on one impression")
    NOT_SERVED = "not_served", _("Impression was not served")
    BUDGET = "budget", _("Out of total budget")
    DAILY_BUDGET = "daily_budget", _("Out of daily budget")
    BALANCE = "balance", _("Advertiser's balance too low")
    PACED = "paced", _("Held back by daily pacing")


# Valid traffic that was not billed because money or pacing did not allow it.
BILLING_REASONS = frozenset({InvalidReason.BUDGET, InvalidReason.DAILY_BUDGET, InvalidReason.BALANCE,
                             InvalidReason.PACED})


class Impression(models.Model):
    """One sponsored slot served to a reader, then perhaps viewable (the beacon). Its id is made at
    serving and travels in the click and beacon tokens; the IP is stored only truncated."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own on any foreign key: each one is written with every served impression and
    # none is read alone (the campaign's is served by impression_campaign_day), and their parent rows
    # are never deleted. Only the campaign and the ledger entry keep a constraint in the database:
    # PostgreSQL checks each one with a query per inserted row, which cost the flush more than the
    # rest of the row (docs/TRACKING.md, "What a served impression costs the database").
    auction = models.ForeignKey(AuctionLog, verbose_name=_("auction"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="impressions", db_index=False,
                                db_constraint=False)
    placement = models.ForeignKey(Placement, verbose_name=_("placement"), on_delete=models.PROTECT, related_name="+",
                                  db_index=False, db_constraint=False)
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="impressions", db_index=False)
    keyword = models.ForeignKey(CampaignKeyword, verbose_name=_("keyword"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    promotion = models.ForeignKey(Promotion, verbose_name=_("promotion"), on_delete=models.PROTECT, related_name="+",
                                  db_index=False, db_constraint=False)
    position = models.PositiveSmallIntegerField(_("slot"), default=1)
    pricing = models.CharField(_("pricing"), max_length=3, choices=Campaign.Pricing.choices)
    price = models.DecimalField(_("price"), **FINE_MONEY,
                                help_text=_("CNY per click (CPC) or per impression (CPM), from the auction."))
    served_at = models.DateTimeField(_("served at"), db_index=True)
    ad_day = models.DateField(_("ad day"))
    viewable_at = models.DateTimeField(_("viewable at"), null=True, blank=True)
    reader_key = models.CharField(_("reader key"), max_length=64, blank=True)
    ip_prefix = models.CharField(_("IP network"), max_length=45, blank=True)
    browser_family = models.CharField(_("browser"), max_length=60, blank=True)
    os_family = models.CharField(_("operating system"), max_length=60, blank=True)
    invalid_reason = models.CharField(_("invalid because"), max_length=20, choices=InvalidReason.choices, blank=True)
    # CPM: the price accrued when its beacon was accepted (0: not billed, see unbilled_reason), and
    # the ledger entry of the batch that charged it.
    cost = models.DecimalField(_("cost"), default=Decimal("0"), **FINE_MONEY)
    unbilled_reason = models.CharField(_("not billed because"), max_length=20, choices=InvalidReason.choices,
                                       blank=True)
    ledger_entry = models.ForeignKey(LedgerEntry, verbose_name=_("charged in"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="impressions", db_index=False)
    credited_at = models.DateTimeField(_("credited at"), null=True, blank=True)

    class Meta:
        verbose_name = _("impression")
        verbose_name_plural = _("impressions")
        ordering = ["-served_at"]
        indexes = [
            models.Index(fields=["campaign", "ad_day"], name="impression_campaign_day"),
            models.Index(fields=["reader_key", "ad_day", "campaign"], name="impression_reader_day"),
            models.Index(fields=["campaign"], condition=Q(cost__gt=0, ledger_entry__isnull=True),
                         name="impression_accrued"),
        ]

    def __str__(self) -> str:
        return str(self.id)


class Click(models.Model):
    """One click through /c/<token>, billed or not, with its reason. Its id is its idempotent key."""

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    impression = models.ForeignKey(Impression, verbose_name=_("impression"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="clicks")
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="clicks")
    keyword = models.ForeignKey(CampaignKeyword, verbose_name=_("keyword"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    placement = models.ForeignKey(Placement, verbose_name=_("placement"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("clicked at"), db_index=True)
    ad_day = models.DateField(_("ad day"))
    reader_key = models.CharField(_("reader key"), max_length=64, blank=True)
    ip_prefix = models.CharField(_("IP network"), max_length=45, blank=True)
    browser_family = models.CharField(_("browser"), max_length=60, blank=True)
    os_family = models.CharField(_("operating system"), max_length=60, blank=True)
    reason = models.CharField(_("not billed because"), max_length=20, choices=InvalidReason.choices, blank=True,
                              help_text=_("Empty: billed."))
    billed = models.BooleanField(_("billed"), default=False)
    amount = models.DecimalField(_("charged"), default=Decimal("0"), **FINE_MONEY)
    ledger_entry = models.OneToOneField(LedgerEntry, verbose_name=_("charge"), null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="click")
    credited_at = models.DateTimeField(_("credited at"), null=True, blank=True)

    class Meta:
        verbose_name = _("click")
        verbose_name_plural = _("clicks")
        ordering = ["-at"]
        constraints = [
            # An impression's click is billed once, whatever the concurrency.
            models.UniqueConstraint(fields=["impression"], condition=Q(billed=True), name="click_billed_once"),
            models.CheckConstraint(condition=Q(billed=False) | Q(reason=""), name="click_billed_has_no_reason"),
        ]
        indexes = [models.Index(fields=["campaign", "ad_day"], name="click_campaign_day")]

    def __str__(self) -> str:
        return str(self.id)


# The rollup's click columns, one per reason a click was not billed.
ROLLUP_CLICK_REASONS = tuple(InvalidReason.values)


class RollupFigures(models.Model):
    """The figures both rollups hold: served and viewable impressions, clicks valid, billed and by
    every reason they were not, and the spend (credited events left out)."""

    served = models.PositiveIntegerField(_("served"), default=0, help_text=_("Impressions of valid traffic."))
    served_invalid = models.PositiveIntegerField(_("served to invalid traffic"), default=0)
    viewable = models.PositiveIntegerField(_("viewable"), default=0)
    clicks_valid = models.PositiveIntegerField(_("valid clicks"), default=0,
                                               help_text=_("Billed, or valid but over a budget, the balance or the pace."))
    clicks_billed = models.PositiveIntegerField(_("billed clicks"), default=0, help_text=_("Credited ones left out."))
    clicks_credited = models.PositiveIntegerField(_("credited events"), default=0)
    clicks_bot = models.PositiveIntegerField(_("clicks: bot"), default=0)
    clicks_prefetch = models.PositiveIntegerField(_("clicks: prefetch"), default=0)
    clicks_too_fast = models.PositiveIntegerField(_("clicks: too fast"), default=0)
    clicks_ip_limit = models.PositiveIntegerField(_("clicks: IP limit"), default=0)
    clicks_staff = models.PositiveIntegerField(_("clicks: staff"), default=0)
    clicks_enterprise = models.PositiveIntegerField(_("clicks: enterprise user"), default=0)
    clicks_preview = models.PositiveIntegerField(_("clicks: preview"), default=0)
    clicks_unknown_browser = models.PositiveIntegerField(_("clicks: unknown browser"), default=0)
    clicks_browser_mismatch = models.PositiveIntegerField(_("clicks: browser mismatch"), default=0)
    clicks_token_tampered = models.PositiveIntegerField(_("clicks: token altered"), default=0)
    clicks_token_expired = models.PositiveIntegerField(_("clicks: token expired"), default=0)
    clicks_token_unknown = models.PositiveIntegerField(_("clicks: token unknown"), default=0)
    clicks_repeat = models.PositiveIntegerField(_("clicks: repeat"), default=0)
    clicks_not_served = models.PositiveIntegerField(_("clicks: not served"), default=0)
    clicks_budget = models.PositiveIntegerField(_("clicks: over total budget"), default=0)
    clicks_daily_budget = models.PositiveIntegerField(_("clicks: over daily budget"), default=0)
    clicks_balance = models.PositiveIntegerField(_("clicks: balance too low"), default=0)
    clicks_paced = models.PositiveIntegerField(_("clicks: paced"), default=0)
    spend = models.DecimalField(_("spend"), default=Decimal("0"), **FINE_MONEY,
                                help_text=_("Billed clicks and viewable CPM impressions, credited ones left out."))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        abstract = True


class DailyRollup(RollupFigures):
    """One campaign × keyword × placement × ad day: served and viewable impressions, clicks valid,
    billed and by every reason they were not, and the spend (credited events left out). Recomputed
    from the raw events (ads.rollups) while they are kept, frozen after."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="rollups")
    keyword = models.ForeignKey(CampaignKeyword, verbose_name=_("keyword"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    placement = models.ForeignKey(Placement, verbose_name=_("placement"), on_delete=models.PROTECT, related_name="+")
    ad_day = models.DateField(_("ad day"))

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        ordering = ["-ad_day", "campaign", "placement"]
        constraints = [
            models.UniqueConstraint(models.F("campaign"), Coalesce("keyword", 0),
                                    models.F("placement"), models.F("ad_day"), name="rollup_one_per_group"),
        ]
        indexes = [models.Index(fields=["ad_day"], name="rollup_day"),
                   # A campaign's or an advertiser's days, and one keyword's: the keyword reports. The
                   # top keywords read only the index (a year of an advertiser's rows lies on as many
                   # pages as rows: rollups are written a day at a time).
                   models.Index(fields=["campaign", "ad_day"], include=["keyword", "served", "clicks_valid"],
                                name="rollup_campaign_day"),
                   models.Index(fields=["keyword", "ad_day"], name="rollup_keyword_day")]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.ad_day}"


class CampaignDailyRollup(RollupFigures):
    """One campaign × placement × ad day: DailyRollup's rows summed over their keywords, written by
    the same recompute in the same transaction (ads.rollups), so that totals, charts and the campaign
    table over a year of every campaign read a fiftieth of the rows."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="campaign_rollups")
    placement = models.ForeignKey(Placement, verbose_name=_("placement"), on_delete=models.PROTECT, related_name="+")
    ad_day = models.DateField(_("ad day"))

    class Meta:
        verbose_name = _("campaign daily rollup")
        verbose_name_plural = _("campaign daily rollups")
        ordering = ["-ad_day", "campaign", "placement"]
        constraints = [models.UniqueConstraint(fields=["campaign", "placement", "ad_day"],
                                               name="campaign_rollup_one_per_group")]
        indexes = [models.Index(fields=["ad_day"], name="campaign_rollup_day")]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.ad_day}"


class ConversionSecret(models.Model):
    """The key an advertiser signs its conversion pixels and postbacks with (HMAC-SHA256); rotated by
    replacing it, after which signatures made with the old key are refused."""

    advertiser = models.OneToOneField(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                      related_name="conversion_secret")
    secret = models.CharField(_("secret"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conversion secret")
        verbose_name_plural = _("conversion secrets")

    def __str__(self) -> str:
        return str(self.advertiser)


class Conversion(models.Model):
    """A sale or sign-up the advertiser reported for one click, by pixel or postback, once per click
    and goal. It copies what the click was for (campaign, keyword, placement, ad day of the click), so
    that it keeps its attribution after retention deletes the raw click."""

    class Source(models.TextChoices):
        PIXEL = "pixel", _("Pixel")
        POSTBACK = "postback", _("Server postback")

    click = models.ForeignKey(Click, verbose_name=_("click"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="conversions")
    click_key = models.UUIDField(_("click id"))
    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), on_delete=models.PROTECT,
                                   related_name="conversions")
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT,
                                 related_name="conversions")
    keyword = models.ForeignKey(CampaignKeyword, verbose_name=_("keyword"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    placement = models.ForeignKey(Placement, verbose_name=_("placement"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    goal = models.CharField(_("goal"), max_length=40, default="conversion")
    value = models.DecimalField(_("value"), null=True, blank=True, **MONEY)
    source = models.CharField(_("reported by"), max_length=10, choices=Source.choices)
    clicked_at = models.DateTimeField(_("clicked at"))
    click_valid = models.BooleanField(_("valid click"), default=True,
                                      help_text=_("The click was valid traffic (billed or not)."))
    click_ad_day = models.DateField(_("ad day of the click"))
    at = models.DateTimeField(_("converted at"), db_index=True)

    class Meta:
        verbose_name = _("conversion")
        verbose_name_plural = _("conversions")
        ordering = ["-at"]
        constraints = [
            # A pixel that fires twice, or a postback retried, counts once.
            models.UniqueConstraint(fields=["click_key", "goal"], name="conversion_once_per_click_goal"),
        ]
        indexes = [models.Index(fields=["campaign", "click_ad_day"], name="conversion_campaign_day")]

    def __str__(self) -> str:
        return f"{self.goal} · {self.click_key}"


class ExportJob(models.Model):
    """An export too large for one request, built by a Celery job (ads.exports.export_job_run): its
    progress, then the file, which only the user who asked may download."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="+")
    advertiser = models.ForeignKey(Advertiser, verbose_name=_("advertiser"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   help_text=_("The enterprise user's own advertiser; empty: an analyst's, all of them."))
    kind = models.CharField(_("kind"), max_length=20)
    filters = models.JSONField(_("filters"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows to write"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.rows_done / self.rows_total) if self.rows_total else 0
