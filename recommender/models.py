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
