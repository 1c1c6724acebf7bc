"""Crawl records: runs and each URL's fate (the near-duplicate index is the library's: contentlib.models)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class CrawlRun(models.Model):
    """One crawl of one source: when it ran, how it ended and how many pages met each outcome."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(
        "contentlib.Source", verbose_name=_("source"), on_delete=models.PROTECT, related_name="crawl_runs",
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pid = models.PositiveIntegerField(
        _("process id"), null=True, blank=True,
        help_text=_("The crawl process, while it runs."),
    )
    finish_reason = models.CharField(
        _("finish reason"), max_length=100, blank=True,
        help_text=_("Scrapy's close reason, e.g. finished or closespider_pagecount."),
    )
    error = models.TextField(_("error"), blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True, help_text=_("Pages per outcome."))

    class Meta:
        verbose_name = _("crawl run")
        verbose_name_plural = _("crawl runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["source", "status"], name="crawlrun_source_status")]

    def __str__(self) -> str:
        return _("Crawl #%(id)s of %(source)s") % {"id": self.id, "source": self.source}

    @property
    def pages_total(self) -> int:
        return sum(self.counts.values())


class CrawlPage(models.Model):
    """What happened to one URL in one crawl, and why."""

    class Outcome(models.TextChoices):
        SAVED = "saved", _("Saved")
        UPDATED = "updated", _("Updated")
        REVISED = "revised", _("Changed: revision waits for review")
        UNCHANGED = "unchanged", _("Unchanged")
        DUPLICATE = "duplicate", _("Duplicate")
        NEAR_DUPLICATE = "near_duplicate", _("Near-duplicate")
        LISTING = "listing", _("Listing (links followed)")
        TOO_SHORT = "too_short", _("Too short")
        MOSTLY_LINKS = "mostly_links", _("Mostly links")
        OTHER_LANGUAGE = "other_language", _("Language not collected")
        NO_TEXT = "no_text", _("No main text found")
        NOT_HTML = "not_html", _("Not HTML")
        TOO_LARGE = "too_large", _("Too large")
        ROBOTS_FORBIDDEN = "robots_forbidden", _("Forbidden by robots.txt")
        HTTP_ERROR = "http_error", _("HTTP error")
        NETWORK_ERROR = "network_error", _("Network error")
        INVALID = "invalid", _("Refused by the library")
        REDIRECT_LOOP = "redirect_loop", _("Redirect loop")
        REDIRECT_OFFSITE = "redirect_offsite", _("Redirected off the site")
        REDIRECT_DUPLICATE = "redirect_duplicate", _("Redirected to a URL already crawled")

    run = models.ForeignKey(CrawlRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="pages")
    url = models.URLField(_("URL"), max_length=2000)
    redirected_from = models.URLField(_("redirected from"), max_length=2000, blank=True)
    redirect_chain = models.JSONField(
        _("redirect chain"),
        default=list, blank=True,
        help_text=_("Every URL of the redirects that led here, in order, the last one included; empty "
                    "without redirects."),
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    reason = models.TextField(_("reason"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    in_sitemap = models.BooleanField(
        _("in the sitemap"), default=False,
        help_text=_("The site's sitemap lists this URL: among near-duplicates of the same date, it is the original."),
    )
    article = models.ForeignKey(
        "contentlib.Article", null=True, blank=True, on_delete=models.SET_NULL, related_name="crawl_pages",
        verbose_name=_("article"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("crawl page")
        verbose_name_plural = _("crawl pages")
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "outcome"], name="crawlpage_run_outcome")]

    def __str__(self) -> str:
        return f"{self.url}: {self.get_outcome_display()}"
