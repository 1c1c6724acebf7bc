"""The recommender's own tables: the segmentation lexicon."""
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
