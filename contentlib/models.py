"""The library's data: sources, categories, articles, keywords and the moderation record."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Source(models.Model):
    """Where articles come from, with the settings a crawl of it uses."""

    class Kind(models.TextChoices):
        SITEMAP = "sitemap", _("Sitemap")
        FEED = "feed", _("RSS/Atom feed")
        SITE = "site", _("Site (listing pages)")
        PORTAL = "portal", _("Enterprise portal")
        IMPORT = "import", _("Open data import")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("slug"), max_length=100, unique=True,
        help_text=_("Used on the command line: manage.py crawl <slug>."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SITE)
    start_urls = models.JSONField(
        _("start URLs"), default=list, blank=True,
        help_text=_("A list of URLs the crawl starts from."),
    )
    allowed_domains = models.JSONField(
        _("allowed domains"), default=list, blank=True,
        help_text=_("Domains the crawl may visit."),
    )
    allow_patterns = models.JSONField(
        _("allow patterns"), default=list, blank=True,
        help_text=_("Regular expressions; follow only matching URLs."),
    )
    deny_patterns = models.JSONField(
        _("deny patterns"), default=list, blank=True,
        help_text=_("Regular expressions; never follow matching URLs."),
    )
    page_limit = models.PositiveIntegerField(_("page limit"), default=500, help_text=_("Stop after this many pages."))
    time_limit_seconds = models.PositiveIntegerField(
        _("time limit (seconds)"), default=1800,
        help_text=_("Stop after this many seconds."),
    )
    crawl_interval_minutes = models.PositiveIntegerField(_("crawl interval (minutes)"), default=24 * 60)
    trusted = models.BooleanField(
        _("trusted"), default=False,
        help_text=_("Articles from a trusted source are approved without an editor."),
    )
    full_text_allowed = models.BooleanField(
        _("full text allowed"), default=False,
        help_text=_("The source lets the library show its articles in full. Off: readers see the summary, the "
                    "opening paragraph and a link to the original, and answers quote only that."),
    )
    active = models.BooleanField(_("active"), default=True)
    last_crawled_at = models.DateTimeField(_("last crawled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A subject area; its description seeds classification before labelled articles exist."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(
        _("description"), blank=True,
        help_text=_("What belongs here, in Chinese and English words."),
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    class Origin(models.TextChoices):
        CRAWLED = "crawled", _("Crawled")
        SUBMITTED = "submitted", _("Submitted by an enterprise")
        OPEN_DATA = "open_data", _("Open data")
        GENERATED = "generated", _("AI-generated")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ARCHIVED = "archived", _("Archived")

    class Enrichment(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("In progress")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    title = models.CharField(_("title"), max_length=500)
    text = models.TextField(_("text"), help_text=_("The cleaned main text."))
    html = models.TextField(_("HTML"), blank=True, help_text=_("Sanitized HTML of the main text."))
    url = models.URLField(_("URL"), max_length=2000, blank=True)
    canonical_url = models.URLField(_("canonical URL"), max_length=2000, null=True, blank=True, unique=True)
    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices)
    language = models.CharField(
        _("language"), max_length=10, blank=True,
        help_text=_("zh, en or other; set by enrichment when unknown."),
    )
    author = models.CharField(_("author"), max_length=200, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), null=True, blank=True, on_delete=models.PROTECT, related_name="articles",
    )
    owner = models.ForeignKey(
        "ads.Advertiser", null=True, blank=True, on_delete=models.PROTECT, related_name="articles",
        verbose_name=_("owner"),
        help_text=_("The advertiser that submitted or paid for this article."),
    )

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    content_hash = models.CharField(
        _("content hash"), max_length=64,
        help_text=_("SHA-256 of the normalized title and text."),
    )
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by",
        verbose_name=_("original of"),
        help_text=_("A near-duplicate stored earlier that this article is the original of: approving this "
                    "article makes that one its duplicate."),
    )

    # Enrichment: written by recommender workers, reset to pending whenever the content changes.
    enrichment_status = models.CharField(
        _("enrichment status"), max_length=20, choices=Enrichment.choices, default=Enrichment.PENDING,
    )
    enrichment_error = models.TextField(_("enrichment error"), blank=True)
    enrichment_started_at = models.DateTimeField(_("enrichment started at"), null=True, blank=True)
    enriched_at = models.DateTimeField(_("enriched at"), null=True, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL, related_name="articles",
    )
    category_confidence = models.FloatField(_("category confidence"), null=True, blank=True)
    category_locked = models.BooleanField(
        _("category locked"), default=False,
        help_text=_("Set by an editor; enrichment never overwrites it."),
    )
    tokens = models.TextField(_("tokens"), blank=True, help_text=_("Segmented, normalized tokens separated by spaces."))
    tokens_dict_version = models.CharField(_("dictionary version"), max_length=64, blank=True)
    embedding = models.BinaryField(_("embedding"), null=True, blank=True, help_text=_("float32 vector, little-endian."))
    embedding_model = models.CharField(_("embedding model"), max_length=200, blank=True)
    embedding_dim = models.PositiveIntegerField(_("embedding dimension"), null=True, blank=True)
    embedding_passage_hash = models.CharField(
        _("embedding passage hash"),
        max_length=40, blank=True,
        help_text=_("SHA-1 of the passage embedded; an unchanged passage under the same model is not embedded again."),
    )

    premium = models.BooleanField(
        _("premium"), default=False,
        help_text=_("Readers without a VIP membership see only the title, the summary and the first paragraphs."),
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-created_at"]
        permissions = [("moderate_article", "Can approve, reject and archive articles")]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="article_status_created"),
            models.Index(fields=["content_hash"], name="article_content_hash"),
            models.Index(fields=["origin"], name="article_origin"),
            models.Index(fields=["language"], name="article_language"),
            models.Index(fields=["enrichment_status", "updated_at"], name="article_enrichment"),
            models.Index(fields=["url"], name="article_url"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="article_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.APPROVED and self.duplicate_of_id is None


class MinHashSignature(models.Model):
    """An article's MinHash, so a candidate from the LSH bands can be checked without re-reading text."""

    article = models.OneToOneField(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="minhash",
    )
    content_hash = models.CharField(
        _("content hash"), max_length=64,
        help_text=_("The article's content hash when this was computed."),
    )
    hashvalues = models.BinaryField(
        _("hash values"),
        help_text=_("uint32 MinHash values (datasketch affine32 scheme), little-endian."),
    )

    class Meta:
        verbose_name = _("MinHash signature")
        verbose_name_plural = _("MinHash signatures")

    def __str__(self) -> str:
        return f"minhash of #{self.article_id}"


class MinHashBand(models.Model):
    """One LSH band key of one article: articles sharing any key are near-duplicate candidates."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="minhash_bands",
    )
    key = models.BigIntegerField(_("key"), help_text=_("A 63-bit hash of (band number, the band's MinHash values)."))

    class Meta:
        verbose_name = _("MinHash band")
        verbose_name_plural = _("MinHash bands")
        indexes = [models.Index(fields=["key"], name="minhashband_key")]


class Keyword(models.Model):
    """A normalized keyword (lowercase, half-width), shared by every article that has it."""

    text = models.CharField(_("text"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("keyword")
        verbose_name_plural = _("keywords")
        ordering = ["text"]

    def __str__(self) -> str:
        return self.text


class ArticleKeyword(models.Model):
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="article_keywords",
    )
    keyword = models.ForeignKey(
        Keyword, verbose_name=_("keyword"), on_delete=models.CASCADE, related_name="article_keywords",
    )
    weight = models.FloatField(_("weight"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    method = models.CharField(
        _("method"), max_length=50,
        help_text=_("How the keyword was chosen, e.g. tfidf+mmr or editor."),
    )

    class Meta:
        verbose_name = _("article keyword")
        verbose_name_plural = _("article keywords")
        ordering = ["article", "rank"]
        constraints = [models.UniqueConstraint(fields=["article", "keyword"], name="article_keyword_unique")]

    def __str__(self) -> str:
        return f"{self.keyword.text} ({self.weight:.3f})"


class ModerationEvent(models.Model):
    """One moderation decision: who (a person, or the system for trusted sources), what, when, why."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        ARCHIVE = "archive", _("Archived")
        APPROVE_REVISION = "approve_revision", _("Approved a revision")
        REJECT_REVISION = "reject_revision", _("Rejected a revision")
        MARK_DUPLICATE = "mark_duplicate", _("Marked a duplicate of its original")

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="moderation_events",
    )
    revision = models.ForeignKey(
        "ArticleRevision", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_events",
        verbose_name=_("revision"),
        help_text=_("The revision decided on, for revision decisions."),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_status = models.CharField(_("from status"), max_length=20, choices=Article.Status.choices)
    to_status = models.CharField(_("to status"), max_length=20, choices=Article.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL,
    )
    actor_name = models.CharField(_("actor name"), max_length=150, help_text=_("The editor's username, or 'system'."))
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("moderation event")
        verbose_name_plural = _("moderation events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.get_action_display().lower()} #{self.article_id}"


class ArticleRevision(models.Model):
    """A change to an approved article's content that waits for a decision; the article keeps its
    published content until the revision is approved.

    The content it replaces is kept beside it (`base_*`), so its diff reads the same after the
    decision as before.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded by a later revision")

    article = models.ForeignKey(Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="revisions")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.CharField(
        _("proposed by"), max_length=200,
        help_text=_("Who proposed the change: a crawl of a source, or a user."),
    )
    # The proposed content (the fields a crawl or an enterprise's edit may change).
    title = models.CharField(_("title"), max_length=500)
    text = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    url = models.URLField(_("URL"), max_length=2000, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    author = models.CharField(_("author"), max_length=200, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    # The published content it would replace, as it was when the revision was proposed.
    base_title = models.CharField(_("base title"), max_length=500)
    base_text = models.TextField(_("base text"))
    base_content_hash = models.CharField(_("base content hash"), max_length=64)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.SET_NULL,
    )
    decided_by_name = models.CharField(
        _("decided by name"), max_length=150, blank=True,
        help_text=_("The editor's username, or 'system'."),
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One change at a time waits per article: a newer one supersedes it.
            models.UniqueConstraint(fields=["article"], condition=Q(status="pending"), name="revision_one_pending"),
            models.CheckConstraint(condition=~Q(status="rejected") | ~Q(reason=""),
                                   name="revision_rejection_has_reason"),
        ]

    def __str__(self) -> str:
        return _("Revision #%(id)s of “%(title)s”") % {"id": self.id, "title": self.article.title}


class Question(models.Model):
    """A reader's question, stored once per normalized form (`contentlib.text.normalize_query`)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        PUBLISHED = "published", _("Published on the site")
        HIDDEN = "hidden", _("Hidden")

    text = models.CharField(_("text"), max_length=500, help_text=_("The question as first asked."))
    normalized_text = models.CharField(
        _("normalized text"), max_length=500, unique=True,
        help_text=_("NFKC, lowercase, no spaces between Chinese characters, no punctuation at the ends."),
    )
    slug = models.SlugField(_("slug"), max_length=80, unique=True, allow_unicode=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    asked_count = models.PositiveIntegerField(_("asked count"), default=0)
    vector = models.BinaryField(_("vector"), null=True, blank=True, help_text=_("float32 vector, little-endian."))
    vector_model = models.CharField(_("vector model"), max_length=200, blank=True)
    sensitive_words = models.JSONField(
        _("sensitive words"), default=list, blank=True,
        help_text=_("Words of the sensitive-word list (contentlib/sensitive_words.txt) the question contains: "
                    "a question with any is never published."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text


class Answer(models.Model):
    """One generated answer to a question: text with [n] markers, and the articles they cite, in order.

    An answer is reused (the cache) while it is current: every cited article still published with
    the text it had when the answer was written. A "no answer" (no citation) expires after
    ANSWER_NO_ANSWER_TTL_HOURS.
    """

    class Status(models.TextChoices):
        CURRENT = "current", _("Current")
        STALE = "stale", _("Stale (a cited article changed or left the library)")
        HIDDEN = "hidden", _("Hidden by an editor")
        REPLACED = "replaced", _("Replaced by a newer answer")

    question = models.ForeignKey(Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="answers")
    provider = models.CharField(_("provider"), max_length=30, help_text=_("extractive, openai or transformers."))
    model_name = models.CharField(_("model name"), max_length=200, blank=True)
    text = models.TextField(_("text"), help_text=_("The answer, with [n] citation markers."))
    cited_article_ids = models.JSONField(
        _("cited article ids"), default=list, blank=True, help_text=_("Reference [n] is the n-th id of this list."),
    )
    notice = models.CharField(
        _("notice"), max_length=500, blank=True,
        help_text=_("Shown with the answer, e.g. that the model failed and the answer was extracted instead."),
    )
    vector = models.BinaryField(_("vector"), null=True, blank=True, help_text=_("float32 vector, little-endian."))
    vector_model = models.CharField(_("vector model"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.CURRENT)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("edited by"), null=True, blank=True, on_delete=models.SET_NULL,
    )
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True, db_index=True)
    generation_ms = models.PositiveIntegerField(_("generation time (ms)"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["-generated_at", "-id"]
        constraints = [
            # The cache: one current answer per question and provider.
            models.UniqueConstraint(fields=["question", "provider"], condition=Q(status="current"),
                                    name="answer_one_current_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} answer #{self.id} to “{self.question.text}”"

    @property
    def is_no_answer(self) -> bool:
        return not self.cited_article_ids


class AnswerReference(models.Model):
    """Reference [position] of an answer, with the cited article's content hash when it was cited."""

    answer = models.ForeignKey(Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="references")
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="answer_references",
    )
    position = models.PositiveSmallIntegerField(_("position"), help_text=_("n of the answer's [n] marker."))
    content_hash = models.CharField(_("content hash"), max_length=64)

    class Meta:
        verbose_name = _("answer reference")
        verbose_name_plural = _("answer references")
        ordering = ["answer", "position"]
        constraints = [models.UniqueConstraint(fields=["answer", "position"], name="answer_reference_position")]

    def __str__(self) -> str:
        return f"[{self.position}] #{self.article_id}"

class AnswerReport(models.Model):
    """A reader's report that an answer is wrong, with their note: the editors' queue in admin."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    answer = models.ForeignKey(Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="reports")
    note = models.TextField(_("reader's note"), max_length=1000)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    reader_key = models.CharField(_("reader key"), max_length=32, blank=True,
                                  help_text=_("The reporting reader's key for that day (contentlib/readers.py)."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True, blank=True, on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("reported answer")
        verbose_name_plural = _("reported answers")
        ordering = ["status", "-created_at", "-id"]

    def __str__(self) -> str:
        return _("Report #%(id)s on answer #%(answer)s") % {"id": self.id, "answer": self.answer_id}


class Membership(models.Model):
    """A reader's VIP membership: premium articles in full until `until`.

    Its history is the append-only MembershipGrant rows; this row holds only the current end, and the
    end a reminder was last sent for.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("reader"), on_delete=models.PROTECT, related_name="membership",
    )
    until = models.DateTimeField(_("member until"))
    plan_slug = models.CharField(_("plan"), max_length=50, help_text=_("The plan of the latest grant."))
    reminded_until = models.DateTimeField(
        _("reminder sent for"), null=True, blank=True,
        help_text=_("The end date the expiry reminder was sent for: one reminder per end date."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["-until"]
        indexes = [models.Index(fields=["until"], name="membership_until")]

    def __str__(self) -> str:
        return _("%(reader)s, member until %(until)s") % {"reader": self.user, "until": f"{self.until:%Y-%m-%d}"}


class MembershipGrant(models.Model):
    """One change to a membership, never edited or deleted: days granted by staff or by a payment, or
    taken back by a reversal (a refund)."""

    class Source(models.TextChoices):
        STAFF = "staff", _("Granted by staff")
        PAYMENT = "payment", _("Paid")
        REVERSAL = "reversal", _("Reversed (refund)")

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="grants",
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    plan_slug = models.CharField(_("plan"), max_length=50)
    days = models.IntegerField(_("days"), help_text=_("Days added; negative for a reversal."))
    until_before = models.DateTimeField(_("member until, before"), null=True, blank=True)
    until_after = models.DateTimeField(_("member until, after"))
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("The payment order's reference number, if paid."),
    )
    reverses = models.OneToOneField(
        "self", verbose_name=_("reverses"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("membership grant")
        verbose_name_plural = _("membership grants")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(source="reversal", days__lt=0) | Q(~Q(source="reversal"), days__gt=0),
                                   name="membership_grant_days_sign"),
            models.CheckConstraint(condition=~Q(source="reversal") | Q(reverses__isnull=False),
                                   name="membership_reversal_names_its_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.days:+d} ({self.plan_slug})"
