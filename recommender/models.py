"""The recommender's own tables: the segmentation lexicon and search-index bookkeeping, kept out of the core."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class LexiconTerm(models.Model):
    """A phrase the segmenter keeps whole (a category name, an editor's phrase such as 物流自动化).

    Campaign keywords are never lexicon terms (the source "campaign" is retired): an advertiser must
    not be able to re-segment the library or set off re-enrichment. The auction matches them whole
    with its own automaton, on the segmenter's token boundaries (ads/matching.py).
    """

    class Source(models.TextChoices):
        CATEGORY = "category", _("Category name")
        EDITOR = "editor", _("Added by an editor")

    term = models.CharField(
        _("term"), max_length=50, unique=True,
        help_text=_("Stored normalized: half-width, lowercase."),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.EDITOR)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("lexicon term")
        verbose_name_plural = _("lexicon terms")
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term


class IndexState(models.Model):
    """What the search index holds for one article, so the sweep can find what is missing or stale.

    Keyed by the article's id without a foreign key: the row outlives a deleted article, which is how
    the sweep knows to remove it from the index.
    """

    article_id = models.BigIntegerField(_("article id"), primary_key=True)
    dirty = models.BooleanField(
        _("dirty"), default=True,
        help_text=_("Set when the article changed; cleared once indexed."),
    )
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)
    indexed_at = models.DateTimeField(_("indexed at"), null=True, blank=True)
    fingerprint = models.CharField(
        _("fingerprint"), max_length=64, blank=True,
        help_text=_("Hash of what the index holds."),
    )
    in_index = models.BooleanField(_("in index"), default=False)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("index state")
        verbose_name_plural = _("index states")
        indexes = [models.Index(fields=["dirty", "marked_at"], name="indexstate_dirty")]

    def __str__(self) -> str:
        return f"article #{self.article_id} ({'dirty' if self.dirty else 'indexed'})"


class ReaderActivity(models.Model):
    """One thing a reader did on the site: the raw input of the co-occurrence models.

    Written by the site layer only for traffic its validity check accepted (no bots, no staff), in
    batches (recommender.activity). The reader is only the reader key (contentlib.readers: a keyed
    hash of the truncated IP, the user agent and the ad day), so "the same reader" means the same
    reader on one ad day. Queries are stored as `normalize_query` text, never as tokens, so that
    展览 制作 and 展览制作 are one query whatever the lexicon. Ids without foreign keys: the log is
    append-only and purged by age (RAW_EVENT_RETENTION_DAYS), not by what happens to an article.
    """

    class Kind(models.TextChoices):
        SEARCH = "search", _("Search")
        QUESTION_ASK = "question_ask", _("Question asked")
        QUESTION_VIEW = "question_view", _("Question viewed")
        ARTICLE_VIEW = "article_view", _("Article viewed")
        ORGANIC_CLICK = "organic_click", _("Organic click")
        SPONSORED_CLICK = "sponsored_click", _("Sponsored click")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    reader_key = models.CharField(_("reader key"), max_length=64)
    at = models.DateTimeField(_("when"))
    ad_day = models.DateField(_("ad day"))
    placement = models.CharField(_("placement"), max_length=60, blank=True,
                                 help_text=_("The page or widget it happened on (search, question, article, …)."))
    query = models.CharField(_("query"), max_length=500, blank=True, help_text=_("Normalized (normalize_query)."))
    article_id = models.BigIntegerField(_("article id"), null=True, blank=True)
    question_id = models.BigIntegerField(_("question id"), null=True, blank=True)

    class Meta:
        verbose_name = _("reader activity")
        verbose_name_plural = _("reader activity")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["ad_day"], name="activity_ad_day"),
            models.Index(fields=["reader_key", "at"], name="activity_reader_at"),
            models.Index(fields=["query", "ad_day"], name="activity_query_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.query or self.article_id or ''} · {self.ad_day}"


class CooccurrenceModel(models.Model):
    """One build of the co-occurrence models (recommender/cooccurrence.py), stored whole.

    At most one is active. A rebuild writes its row and moves `active` to it in one transaction, so a
    build that dies part-way leaves the previous model in use.
    """

    active = models.BooleanField(_("active"), default=False)
    built_at = models.DateTimeField(_("built at"), auto_now_add=True)
    events = models.PositiveBigIntegerField(_("events"), default=0)
    sessions = models.PositiveBigIntegerField(_("sessions"), default=0)
    queries = models.PositiveIntegerField(_("queries"), default=0)
    articles = models.PositiveIntegerField(_("articles"), default=0)
    pairs = models.JSONField(_("scored pairs"), default=dict, help_text=_("Per model: query→query, query→article, article→article."))
    params = models.JSONField(_("parameters"), default=dict)
    duration_seconds = models.FloatField(_("duration (s)"), default=0.0)
    data = models.BinaryField(_("data"), help_text=_("The matrices and vocabularies (NumPy .npz)."))

    class Meta:
        verbose_name = _("co-occurrence model")
        verbose_name_plural = _("co-occurrence models")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True),
                                               name="cooccurrence_one_active")]

    def __str__(self) -> str:
        return f"#{self.id} {self.built_at:%Y-%m-%d %H:%M} ({'active' if self.active else 'retired'})"
