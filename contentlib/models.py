"""The library's data: sources, categories, articles, keywords and the moderation record."""
from django.conf import settings
from django.db import models
from django.db.models import Q


class Source(models.Model):
    """Where articles come from, with the settings a crawl of it uses."""

    class Kind(models.TextChoices):
        SITEMAP = "sitemap", "Sitemap"
        FEED = "feed", "RSS/Atom feed"
        SITE = "site", "Site (listing pages)"
        PORTAL = "portal", "Enterprise portal"
        IMPORT = "import", "Open data import"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True, help_text="Used on the command line: manage.py crawl <slug>.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SITE)
    start_urls = models.JSONField(default=list, blank=True, help_text="A list of URLs the crawl starts from.")
    allowed_domains = models.JSONField(default=list, blank=True, help_text="Domains the crawl may visit.")
    allow_patterns = models.JSONField(default=list, blank=True, help_text="Regular expressions; follow only matching URLs.")
    deny_patterns = models.JSONField(default=list, blank=True, help_text="Regular expressions; never follow matching URLs.")
    page_limit = models.PositiveIntegerField(default=500, help_text="Stop after this many pages.")
    time_limit_seconds = models.PositiveIntegerField(default=1800, help_text="Stop after this many seconds.")
    crawl_interval_minutes = models.PositiveIntegerField(default=24 * 60)
    trusted = models.BooleanField(default=False, help_text="Articles from a trusted source are approved without an editor.")
    active = models.BooleanField(default=True)
    last_crawled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A subject area; its description seeds classification before labelled articles exist."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, help_text="What belongs here, in Chinese and English words.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    class Origin(models.TextChoices):
        CRAWLED = "crawled", "Crawled"
        SUBMITTED = "submitted", "Submitted by an enterprise"
        OPEN_DATA = "open_data", "Open data"
        GENERATED = "generated", "Generated"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        ARCHIVED = "archived", "Archived"

    class Enrichment(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "In progress"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=500)
    text = models.TextField(help_text="The cleaned main text.")
    html = models.TextField(blank=True, help_text="Sanitized HTML of the main text.")
    url = models.URLField(max_length=2000, blank=True)
    canonical_url = models.URLField(max_length=2000, null=True, blank=True, unique=True)
    origin = models.CharField(max_length=20, choices=Origin.choices)
    language = models.CharField(max_length=10, blank=True, help_text="zh, en or other; set by enrichment when unknown.")
    author = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="articles")
    owner = models.ForeignKey(
        "ads.Advertiser", null=True, blank=True, on_delete=models.PROTECT, related_name="articles",
        help_text="The advertiser that submitted or paid for this article.",
    )

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the normalized title and text.")

    # Enrichment: written by recommender workers, reset to pending whenever the content changes.
    enrichment_status = models.CharField(max_length=20, choices=Enrichment.choices, default=Enrichment.PENDING)
    enrichment_error = models.TextField(blank=True)
    enrichment_started_at = models.DateTimeField(null=True, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    category_confidence = models.FloatField(null=True, blank=True)
    category_locked = models.BooleanField(default=False, help_text="Set by an editor; enrichment never overwrites it.")
    tokens = models.TextField(blank=True, help_text="Segmented, normalized tokens separated by spaces.")
    tokens_dict_version = models.CharField(max_length=64, blank=True)
    embedding = models.BinaryField(null=True, blank=True, help_text="float32 vector, little-endian.")
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_dim = models.PositiveIntegerField(null=True, blank=True)
    embedding_passage_hash = models.CharField(
        max_length=40, blank=True,
        help_text="SHA-1 of the passage embedded; an unchanged passage under the same model is not embedded again.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    moderated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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


class Keyword(models.Model):
    """A normalized keyword (lowercase, half-width), shared by every article that has it."""

    text = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["text"]

    def __str__(self) -> str:
        return self.text


class ArticleKeyword(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="article_keywords")
    keyword = models.ForeignKey(Keyword, on_delete=models.CASCADE, related_name="article_keywords")
    weight = models.FloatField()
    rank = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=50, help_text="How the keyword was chosen, e.g. tfidf+mmr or editor.")

    class Meta:
        ordering = ["article", "rank"]
        constraints = [models.UniqueConstraint(fields=["article", "keyword"], name="article_keyword_unique")]

    def __str__(self) -> str:
        return f"{self.keyword.text} ({self.weight:.3f})"


class ModerationEvent(models.Model):
    """One moderation decision: who (a person, or the system for trusted sources), what, when, why."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        ARCHIVE = "archive", "Archived"
        APPROVE_REVISION = "approve_revision", "Approved a revision"
        REJECT_REVISION = "reject_revision", "Rejected a revision"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="moderation_events")
    revision = models.ForeignKey(
        "ArticleRevision", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_events",
        help_text="The revision decided on, for revision decisions.",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    from_status = models.CharField(max_length=20, choices=Article.Status.choices)
    to_status = models.CharField(max_length=20, choices=Article.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, help_text="The editor's username, or 'system'.")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
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
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded by a later revision"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.CharField(max_length=200, help_text="Who proposed the change: a crawl of a source, or a user.")
    # The proposed content (the fields a crawl or an enterprise's edit may change).
    title = models.CharField(max_length=500)
    text = models.TextField()
    html = models.TextField(blank=True)
    url = models.URLField(max_length=2000, blank=True)
    language = models.CharField(max_length=10, blank=True)
    author = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    # The published content it would replace, as it was when the revision was proposed.
    base_title = models.CharField(max_length=500)
    base_text = models.TextField()
    base_content_hash = models.CharField(max_length=64)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_by_name = models.CharField(max_length=150, blank=True, help_text="The editor's username, or 'system'.")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One change at a time waits per article: a newer one supersedes it.
            models.UniqueConstraint(fields=["article"], condition=Q(status="pending"), name="revision_one_pending"),
            models.CheckConstraint(condition=~Q(status="rejected") | ~Q(reason=""), name="revision_rejection_has_reason"),
        ]

    def __str__(self) -> str:
        return f"revision #{self.id} of #{self.article_id}"
