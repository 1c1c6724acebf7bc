"""Editors' tool: the moderation queue, previews, bulk decisions and each article's audit history."""
from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from contentlib import selectors, services
from contentlib.errors import ApplicationError
from contentlib.models import Article, ArticleKeyword, Category, Keyword, ModerationEvent, Source


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Shown to the submitter and kept in the audit history.",
    )


class ModerationEventInline(admin.TabularInline):
    model = ModerationEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "actor_name", "action", "from_status", "to_status", "reason")
    readonly_fields = fields
    verbose_name_plural = "Moderation history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = ("category",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = (
        "title_short", "status", "origin", "language", "source", "category", "owner",
        "enrichment_status", "duplicate_of", "created_at",
    )
    list_display_links = ("title_short",)
    list_filter = ("status", "origin", "source", "category", "language", "owner", "enrichment_status")
    search_fields = ("title", "canonical_url", "url", "author")
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = ("approve_selected", "reject_selected", "archive_selected")
    inlines = (ModerationEventInline,)
    fieldsets = (
        (None, {"fields": ("title", "status", "rejection_reason", "preview")}),
        ("Enrichment", {"fields": ("summary", "keyword_list", "category", "category_confidence", "category_locked",
                                   "enrichment_status", "enrichment_error", "language")}),
        ("Origin", {"fields": ("origin", "source", "owner", "url", "canonical_url", "author", "published_at",
                               "fetched_at", "duplicate_of", "content_hash")}),
    )
    readonly_fields = (
        "title", "status", "rejection_reason", "preview", "summary", "keyword_list", "category_confidence",
        "category_locked", "enrichment_status", "enrichment_error", "language", "origin", "source", "owner",
        "url", "canonical_url", "author", "published_at", "fetched_at", "duplicate_of", "content_hash",
    )

    def get_queryset(self, request):
        return selectors.article_moderation_queue()

    def get_ordering(self, request):
        # Pending first: the queue is the editors' work list.
        return ("status_rank", "-created_at", "-id")

    def has_add_permission(self, request):
        return False  # articles arrive through crawls and the portal, never typed in here

    def has_delete_permission(self, request, obj=None):
        return False  # archive instead: billing and audit rows point at articles

    def has_moderate_permission(self, request):
        return request.user.has_perm("contentlib.moderate_article")

    @admin.display(description="title", ordering="title")
    def title_short(self, obj):
        return Truncator(obj.title).chars(60)

    @admin.display(description="text")
    def preview(self, obj):
        paragraphs = [p.strip() for p in obj.text.split("\n") if p.strip()]
        return format_html(
            '<div style="max-width:48em;max-height:32em;overflow:auto;line-height:1.7">{}</div>',
            format_html_join("", "<p>{}</p>", ((p,) for p in paragraphs)),
        )

    @admin.display(description="keywords")
    def keyword_list(self, obj):
        keywords = selectors.article_keywords(article_id=obj.id)
        if not keywords:
            return "—"
        return format_html_join(", ", "{} <small>({})</small>", ((k.keyword.text, f"{k.weight:.2f}") for k in keywords))

    def save_model(self, request, obj, form, change):
        if "category" in form.changed_data:
            services.article_set_category(
                article_id=obj.id, category_id=form.cleaned_data["category"] and form.cleaned_data["category"].id,
                actor=request.user,
            )

    def _apply(self, request, queryset, decide, verb: str):
        done, skipped = 0, []
        for article_id in queryset.values_list("id", flat=True):
            try:
                decide(article_id)
                done += 1
            except ApplicationError as error:
                skipped.append(error.message)
        if done:
            self.message_user(request, f"{verb} {done} article(s).", messages.SUCCESS)
        for message in skipped[:10]:
            self.message_user(request, f"Skipped: {message}", messages.WARNING)
        if len(skipped) > 10:
            self.message_user(request, f"… and {len(skipped) - 10} more skipped.", messages.WARNING)

    @admin.action(description="Approve selected articles", permissions=["moderate"])
    def approve_selected(self, request, queryset):
        self._apply(request, queryset, lambda i: services.article_approve(article_id=i, actor=request.user), "Approved")

    @admin.action(description="Archive selected articles", permissions=["moderate"])
    def archive_selected(self, request, queryset):
        self._apply(request, queryset, lambda i: services.article_archive(article_id=i, actor=request.user), "Archived")

    @admin.action(description="Reject selected articles…", permissions=["moderate"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._apply(
                request, queryset,
                lambda i: services.article_reject(article_id=i, actor=request.user, reason=reason), "Rejected",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject articles",
            "articles": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/contentlib/article/reject.html", context)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "trusted", "active", "crawl_interval_minutes", "last_crawled_at")
    list_filter = ("kind", "trusted", "active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}


class ArticleKeywordInline(admin.TabularInline):
    model = ArticleKeyword
    extra = 0
    fields = ("article", "weight", "rank", "method")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin):
    list_display = ("text",)
    search_fields = ("text",)
    inlines = (ArticleKeywordInline,)


@admin.register(ModerationEvent)
class ModerationEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "article", "action", "from_status", "to_status", "actor_name", "reason")
    list_filter = ("action", "actor_name")
    search_fields = ("article__title", "reason", "actor_name")
    list_select_related = ("article",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the audit record is append-only
