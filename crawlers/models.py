"""Crawl records (runs and each URL's fate) and the library-wide near-duplicate index."""
from django.db import models


class CrawlRun(models.Model):
    """One crawl of one source: when it ran, how it ended and how many pages met each outcome."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    source = models.ForeignKey("contentlib.Source", on_delete=models.PROTECT, related_name="crawl_runs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True, help_text="The crawl process, while it runs.")
    finish_reason = models.CharField(max_length=100, blank=True, help_text="Scrapy's close reason, e.g. finished or closespider_pagecount.")
    error = models.TextField(blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Pages per outcome.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["source", "status"], name="crawlrun_source_status")]

    def __str__(self) -> str:
        return f"crawl #{self.id} of {self.source}"

    @property
    def pages_total(self) -> int:
        return sum(self.counts.values())


class CrawlPage(models.Model):
    """What happened to one URL in one crawl, and why."""

    class Outcome(models.TextChoices):
        SAVED = "saved", "Saved"
        UPDATED = "updated", "Updated"
        REVISED = "revised", "Changed: revision waits for review"
        UNCHANGED = "unchanged", "Unchanged"
        DUPLICATE = "duplicate", "Duplicate"
        NEAR_DUPLICATE = "near_duplicate", "Near-duplicate"
        LISTING = "listing", "Listing (links followed)"
        TOO_SHORT = "too_short", "Too short"
        MOSTLY_LINKS = "mostly_links", "Mostly links"
        OTHER_LANGUAGE = "other_language", "Language not collected"
        NO_TEXT = "no_text", "No main text found"
        NOT_HTML = "not_html", "Not HTML"
        TOO_LARGE = "too_large", "Too large"
        ROBOTS_FORBIDDEN = "robots_forbidden", "Forbidden by robots.txt"
        HTTP_ERROR = "http_error", "HTTP error"
        NETWORK_ERROR = "network_error", "Network error"
        INVALID = "invalid", "Refused by the library"
        REDIRECT_LOOP = "redirect_loop", "Redirect loop"
        REDIRECT_OFFSITE = "redirect_offsite", "Redirected off the site"
        REDIRECT_DUPLICATE = "redirect_duplicate", "Redirected to a URL already crawled"

    run = models.ForeignKey(CrawlRun, on_delete=models.CASCADE, related_name="pages")
    url = models.URLField(max_length=2000)
    redirected_from = models.URLField(max_length=2000, blank=True)
    redirect_chain = models.JSONField(
        default=list, blank=True,
        help_text="Every URL of the redirects that led here, in order, the last one included; empty without redirects.",
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    article = models.ForeignKey(
        "contentlib.Article", null=True, blank=True, on_delete=models.SET_NULL, related_name="crawl_pages"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "outcome"], name="crawlpage_run_outcome")]

    def __str__(self) -> str:
        return f"{self.url}: {self.get_outcome_display()}"


class MinHashSignature(models.Model):
    """An article's MinHash, so a candidate from the LSH bands can be checked without re-reading text."""

    article = models.OneToOneField("contentlib.Article", on_delete=models.CASCADE, related_name="minhash")
    content_hash = models.CharField(max_length=64, help_text="The article's content hash when this was computed.")
    hashvalues = models.BinaryField(help_text="uint32 MinHash values (datasketch affine32 scheme), little-endian.")

    def __str__(self) -> str:
        return f"minhash of #{self.article_id}"


class MinHashBand(models.Model):
    """One LSH band key of one article: articles sharing any key are near-duplicate candidates."""

    article = models.ForeignKey("contentlib.Article", on_delete=models.CASCADE, related_name="minhash_bands")
    key = models.BigIntegerField(help_text="A 63-bit hash of (band number, the band's MinHash values).")

    class Meta:
        indexes = [models.Index(fields=["key"], name="minhashband_key")]
