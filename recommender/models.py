"""The recommender's own tables: the segmentation lexicon and search-index bookkeeping, kept out of the core."""
from django.db import models


class LexiconTerm(models.Model):
    """A phrase the segmenter keeps whole (a category name, a bid phrase such as 物流自动化)."""

    class Source(models.TextChoices):
        CATEGORY = "category", "Category name"
        CAMPAIGN = "campaign", "Campaign bid phrase"
        EDITOR = "editor", "Added by an editor"

    term = models.CharField(max_length=50, unique=True, help_text="Stored normalized: half-width, lowercase.")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.EDITOR)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term


class IndexState(models.Model):
    """What the search index holds for one article, so the sweep can find what is missing or stale.

    Keyed by the article's id without a foreign key: the row outlives a deleted article, which is how
    the sweep knows to remove it from the index.
    """

    article_id = models.BigIntegerField(primary_key=True)
    dirty = models.BooleanField(default=True, help_text="Set when the article changed; cleared once indexed.")
    marked_at = models.DateTimeField(null=True, blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Hash of what the index holds.")
    in_index = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["dirty", "marked_at"], name="indexstate_dirty")]

    def __str__(self) -> str:
        return f"article #{self.article_id} ({'dirty' if self.dirty else 'indexed'})"
