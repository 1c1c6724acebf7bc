"""Crawl records in admin: runs with their outcome counts, and every page's fate, read-only."""
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from crawlers.models import CrawlPage, CrawlRun


class CrawlPageInline(admin.TabularInline):
    model = CrawlPage
    extra = 0
    can_delete = False
    fields = ("url", "outcome", "reason", "http_status", "redirected_from", "article")
    readonly_fields = fields
    show_change_link = True  # the page's own view shows its whole redirect chain

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CrawlRun)
class CrawlRunAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "status", "started_at", "finished_at", "pages", "outcome_summary")
    list_filter = ("status", "source")
    date_hierarchy = "started_at"
    readonly_fields = ("source", "status", "started_at", "finished_at", "pid", "finish_reason", "error", "outcome_summary")
    fields = readonly_fields
    inlines = (CrawlPageInline,)

    @admin.display(description=_("pages"))
    def pages(self, run):
        return run.pages_total

    @admin.display(description=_("outcomes"))
    def outcome_summary(self, run):
        labels = dict(CrawlPage.Outcome.choices)
        return format_html_join(", ", "{}: {}", ((labels.get(k, k), v) for k, v in sorted(run.counts.items())))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CrawlPage)
class CrawlPageAdmin(admin.ModelAdmin):
    list_display = ("url", "outcome", "reason", "http_status", "run", "article")
    list_filter = ("outcome", "run__source")
    search_fields = ("url", "reason")
    list_select_related = ("run__source", "article")
    readonly_fields = ("run", "url", "redirected_from", "redirects", "outcome", "reason", "http_status", "article",
                       "created_at")

    @admin.display(description=_("redirects"))
    def redirects(self, page):
        return format_html_join(" → ", "{}", ((url,) for url in page.redirect_chain)) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
