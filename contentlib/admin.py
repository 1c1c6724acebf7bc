"""Editors' tool: the moderation queue, previews, decisions (bulk, and Approve / Reject on each
article's page), pending revisions with their diff, each article's audit history, and readers'
questions with their AI answers (see, edit, hide, regenerate)."""
import difflib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from contentlib import selectors, services
from contentlib.errors import ApplicationError
from contentlib.models import (
    Answer, AnswerReport, Article, ArticleKeyword, ArticleRevision, Category, Keyword, ModerationEvent, Question,
    Source,
)
from contentlib.tasks_queue import REGENERATE_ANSWER, queue_on_commit


def diff_table(old: str, new: str) -> str:
    """Returns a side-by-side HTML table of the changed paragraphs (difflib), every character escaped.

    difflib escapes the compared text itself; the column labels are escaped here. Lines are not
    wrapped by difflib: the stylesheet wraps them, which suits Chinese text without spaces.
    """
    table = difflib.HtmlDiff(tabsize=4).make_table(
        [line for line in old.splitlines() if line.strip()],
        [line for line in new.splitlines() if line.strip()],
        escape(_("Published")), escape(_("Revision")), context=True, numlines=1,
    )
    return mark_safe(table)  # noqa: S308 - difflib escaped the text (&, <, >); the labels are escaped above


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the code (events, logs, rollups, models built by a task): never added,
    changed or deleted by hand in admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False



class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text=gettext_lazy("Shown to the submitter and kept in the audit history."),
    )


def _moderation_urls(model_admin, approve, reject):
    """The POST-only Approve and Reject views of one object's change page."""
    info = model_admin.model._meta.app_label, model_admin.model._meta.model_name
    wrap = model_admin.admin_site.admin_view
    return [
        path("<int:object_id>/approve/", wrap(require_POST(approve)), name="%s_%s_approve" % info),
        path("<int:object_id>/reject/", wrap(require_POST(reject)), name="%s_%s_reject" % info),
    ]


def _decide(model_admin, request, decide, done: str, back: str):
    """Runs one decision for the change page's buttons and reports it as an admin message."""
    if not request.user.has_perm("contentlib.moderate_article"):
        raise PermissionDenied
    try:
        decide()
    except ApplicationError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
    else:
        model_admin.message_user(request, done, messages.SUCCESS)
    return redirect(back)


class ModerationEventInline(admin.TabularInline):
    model = ModerationEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "actor_name", "action", "from_status", "to_status", "reason")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Moderation history")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ArticleRevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    can_delete = False
    fields = ("created_at", "status", "proposed_by", "decided_by_name", "reason")
    readonly_fields = fields
    show_change_link = True  # the revision's page shows its diff and its buttons
    verbose_name_plural = gettext_lazy("Revisions")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = ("category", "premium")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = (
        "title_short", "status", "premium", "origin", "language", "source", "category", "owner",
        "enrichment_status", "duplicate_of", "created_at",
    )
    list_display_links = ("title_short",)
    list_filter = ("status", "premium", "origin", "source", "category", "language", "owner", "enrichment_status")
    search_fields = ("title", "canonical_url", "url", "author")
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = ("approve_selected", "reject_selected", "archive_selected")
    inlines = (ArticleRevisionInline, ModerationEventInline)
    fieldsets = (
        (None, {"fields": ("title", "status", "premium", "rejection_reason", "preview")}),
        (gettext_lazy("Enrichment"), {"fields": (
            "summary", "keyword_list", "category", "category_confidence", "category_locked", "enrichment_status",
            "enrichment_error", "language")}),
        (gettext_lazy("Origin"), {"fields": (
            "origin", "source", "owner", "url", "canonical_url", "author", "published_at", "fetched_at",
            "duplicate_of", "content_hash")}),
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

    def get_urls(self):
        return _moderation_urls(self, self.approve_view, self.reject_view) + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_object(request, object_id)
        if article is not None:
            extra_context = {
                **(extra_context or {}),
                "can_moderate": self.has_moderate_permission(request),
                "can_approve": article.status != Article.Status.APPROVED and article.duplicate_of_id is None,
                "can_reject": article.status != Article.Status.REJECTED,
                "reject_form": RejectForm(auto_id="id_reject_%s"),
                "pending_revision": selectors.article_revision_pending(article_id=article.id),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def approve_view(self, request, object_id):
        article = get_object_or_404(Article, id=object_id)
        return _decide(
            self, request, lambda: services.article_approve(article_id=article.id, actor=request.user),
            _("Approved “%(title)s”.") % {"title": article.title},
            reverse("admin:contentlib_article_change", args=[article.id]),
        )

    def reject_view(self, request, object_id):
        article = get_object_or_404(Article, id=object_id)
        return _decide(
            self, request,
            lambda: services.article_reject(article_id=article.id, actor=request.user,
                                            reason=request.POST.get("reason", "")),
            _("Rejected “%(title)s”.") % {"title": article.title},
            reverse("admin:contentlib_article_change", args=[article.id]),
        )

    @admin.display(description=gettext_lazy("title"), ordering="title")
    def title_short(self, obj):
        return Truncator(obj.title).chars(60)

    @admin.display(description=gettext_lazy("text"))
    def preview(self, obj):
        paragraphs = [p.strip() for p in obj.text.split("\n") if p.strip()]
        return format_html(
            '<div class="article-preview">{}</div>',
            format_html_join("", "<p>{}</p>", ((p,) for p in paragraphs)),
        )

    @admin.display(description=gettext_lazy("keywords"))
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
        if "premium" in form.changed_data:
            services.article_set_premium(article_id=obj.id, premium=form.cleaned_data["premium"], actor=request.user)

    def _apply(self, request, queryset, decide, verb: str):
        done, skipped = 0, []
        for article_id in queryset.values_list("id", flat=True):
            try:
                decide(article_id)
                done += 1
            except ApplicationError as error:
                skipped.append(error.message)
        if done:
            self.message_user(request, verb % {"count": done}, messages.SUCCESS)
        for message in skipped[:10]:
            self.message_user(request, _("Skipped: %(reason)s") % {"reason": message}, messages.WARNING)
        if len(skipped) > 10:
            self.message_user(request, _("… and %(count)d more skipped.") % {"count": len(skipped) - 10},
                              messages.WARNING)

    @admin.action(description=gettext_lazy("Approve selected articles"), permissions=["moderate"])
    def approve_selected(self, request, queryset):
        self._apply(request, queryset, lambda i: services.article_approve(article_id=i, actor=request.user),
                    _("Approved %(count)d article(s)."))

    @admin.action(description=gettext_lazy("Archive selected articles"), permissions=["moderate"])
    def archive_selected(self, request, queryset):
        self._apply(request, queryset, lambda i: services.article_archive(article_id=i, actor=request.user),
                    _("Archived %(count)d article(s)."))

    @admin.action(description=gettext_lazy("Reject selected articles…"), permissions=["moderate"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._apply(
                request, queryset,
                lambda i: services.article_reject(article_id=i, actor=request.user, reason=reason),
                _("Rejected %(count)d article(s)."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject articles"),
            "articles": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/contentlib/article/reject.html", context)


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(ReadOnlyAdmin):
    """Changes to published articles waiting for a decision, pending first; each page shows the diff.
    Read-only: decided with the buttons on its page, never edited, kept as part of the audit record."""

    list_display = ("article", "status", "proposed_by", "created_at", "decided_by_name")
    list_filter = ("status",)
    search_fields = ("article__title", "title", "proposed_by")
    list_select_related = ("article",)
    fields = ("article", "status", "proposed_by", "created_at", "decided_at", "decided_by_name", "reason",
              "title_diff", "text_diff")
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.article_revisions()

    def get_ordering(self, request):
        return ("status_rank", "-created_at", "-id")

    def get_urls(self):
        return _moderation_urls(self, self.approve_view, self.reject_view) + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        revision = self.get_object(request, object_id)
        if revision is not None:
            extra_context = {
                **(extra_context or {}),
                "can_moderate": request.user.has_perm("contentlib.moderate_article"),
                "is_pending": revision.status == ArticleRevision.Status.PENDING,
                "reject_form": RejectForm(auto_id="id_reject_%s"),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def approve_view(self, request, object_id):
        revision = get_object_or_404(ArticleRevision.objects.select_related("article"), id=object_id)
        return _decide(
            self, request, lambda: services.article_revision_approve(revision_id=revision.id, actor=request.user),
            _("Approved the revision of “%(title)s”; its new text is published.") % {"title": revision.article.title},
            reverse("admin:contentlib_article_change", args=[revision.article_id]),
        )

    def reject_view(self, request, object_id):
        revision = get_object_or_404(ArticleRevision.objects.select_related("article"), id=object_id)
        return _decide(
            self, request,
            lambda: services.article_revision_reject(revision_id=revision.id, actor=request.user,
                                                     reason=request.POST.get("reason", "")),
            _("Rejected the revision of “%(title)s”; the published text stays.") % {"title": revision.article.title},
            reverse("admin:contentlib_articlerevision_change", args=[revision.id]),
        )

    @admin.display(description=gettext_lazy("title"))
    def title_diff(self, revision):
        if revision.title == revision.base_title:
            return _("unchanged: %(title)s") % {"title": revision.title}
        return diff_table(revision.base_title, revision.title)

    @admin.display(description=gettext_lazy("changes to the text"))
    def text_diff(self, revision):
        if revision.text == revision.base_text:
            return _("The text is unchanged.")
        return diff_table(revision.base_text, revision.text)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "trusted", "full_text_allowed", "active", "crawl_interval_minutes",
                    "last_crawled_at")
    list_filter = ("kind", "trusted", "full_text_allowed", "active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        allowed = obj.full_text_allowed
        if change and "full_text_allowed" in form.changed_data:
            obj.full_text_allowed = not allowed  # the service changes it, and makes its answers stale
        super().save_model(request, obj, form, change)
        if change and "full_text_allowed" in form.changed_data:
            services.source_set_full_text(source_id=obj.id, allowed=allowed)


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
class ModerationEventAdmin(ReadOnlyAdmin):  # the audit record is append-only
    list_display = ("created_at", "article", "action", "from_status", "to_status", "actor_name", "reason")
    list_filter = ("action", "actor_name")
    search_fields = ("article__title", "reason", "actor_name")
    list_select_related = ("article",)


def _regenerate(model_admin, request, question_ids) -> None:
    """Queues a new answer for each question (run inline without a broker); says so."""
    for question_id in question_ids:
        queue_on_commit(REGENERATE_ANSWER, question_id)
    model_admin.message_user(
        request, _("A new answer is being written for %(count)d question(s).") % {"count": len(question_ids)},
        messages.SUCCESS)


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ("generated_at", "provider", "status", "text", "notice")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("text", "language", "status", "asked_count", "sensitive_word_list", "created_at")
    list_filter = ("status", "language")
    search_fields = ("text", "normalized_text")
    fields = ("text", "normalized_text", "slug", "language", "status", "sensitive_word_list", "asked_count",
              "vector_model", "created_at")
    readonly_fields = ("text", "normalized_text", "slug", "language", "sensitive_word_list", "asked_count",
                       "vector_model", "created_at")
    actions = ("publish_selected", "hide_selected", "regenerate_selected")
    inlines = (AnswerInline,)

    def has_add_permission(self, request):
        return False  # questions come from readers

    def has_delete_permission(self, request, obj=None):
        return False  # hide instead: the auction's logs will point at questions

    @admin.display(description=gettext_lazy("sensitive words"))
    def sensitive_word_list(self, obj):
        return "、".join(obj.sensitive_words) or "—"

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            try:
                services.question_set_status(question_id=obj.id, status=form.cleaned_data["status"])
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)

    @admin.action(description=gettext_lazy("Publish selected questions"), permissions=["change"])
    def publish_selected(self, request, queryset):
        published = 0
        for question_id in queryset.values_list("id", flat=True):
            try:
                services.question_set_status(question_id=question_id, status=Question.Status.PUBLISHED)
                published += 1
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
        self.message_user(request, _("Published %(count)d question(s).") % {"count": published})

    @admin.action(description=gettext_lazy("Hide selected questions"), permissions=["change"])
    def hide_selected(self, request, queryset):
        for question_id in queryset.values_list("id", flat=True):
            services.question_set_status(question_id=question_id, status=Question.Status.HIDDEN)
        self.message_user(request, _("Hid %(count)d question(s).") % {"count": queryset.count()})

    @admin.action(description=gettext_lazy("Write a new answer"), permissions=["change"])
    def regenerate_selected(self, request, queryset):
        _regenerate(self, request, list(queryset.values_list("id", flat=True)))


class AnswerForm(forms.ModelForm):
    class Meta:
        model = Answer
        fields = ("text",)


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    form = AnswerForm
    list_display = ("question", "provider", "status", "reference_count", "has_notice", "generated_at")
    list_filter = ("status", "provider")
    search_fields = ("question__text", "text")
    list_select_related = ("question",)
    fields = ("question", "provider", "model_name", "status", "text", "reference_list", "notice", "edited_by",
              "generated_at", "generation_ms", "vector_model")
    readonly_fields = ("question", "provider", "model_name", "status", "reference_list", "notice", "edited_by",
                       "generated_at", "generation_ms", "vector_model")
    actions = ("hide_selected", "regenerate_selected")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "text" in form.changed_data:
            try:
                services.answer_edit(answer_id=obj.id, text=form.cleaned_data["text"], actor=request.user)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)

    @admin.display(description=gettext_lazy("references"))
    def reference_count(self, obj):
        return len(obj.cited_article_ids)

    @admin.display(description=gettext_lazy("notice"), boolean=True)
    def has_notice(self, obj):
        return bool(obj.notice)

    @admin.display(description=gettext_lazy("references"))
    def reference_list(self, obj):
        articles = selectors.answer_references(answer=obj)
        if not articles:
            return _("None: the library had no answer.")
        return format_html_join(
            mark_safe("<br>"), '[{}] <a href="{}">{}</a>',
            ((n, reverse("admin:contentlib_article_change", args=[a.id]), a.title)
             for n, a in enumerate(articles, start=1)))

    @admin.action(description=gettext_lazy("Hide selected answers"), permissions=["change"])
    def hide_selected(self, request, queryset):
        for answer_id in queryset.values_list("id", flat=True):
            services.answer_hide(answer_id=answer_id)
        self.message_user(request, _("Hid %(count)d answer(s).") % {"count": queryset.count()})

    @admin.action(description=gettext_lazy("Write a new answer"), permissions=["change"])
    def regenerate_selected(self, request, queryset):
        _regenerate(self, request, sorted(set(queryset.values_list("question_id", flat=True))))


@admin.register(AnswerReport)
class AnswerReportAdmin(admin.ModelAdmin):
    """Readers' reports of wrong answers: the editors' queue, open reports first. An editor opens the
    answer (to correct, hide or regenerate it), then marks the report resolved."""

    list_display = ("created_at", "question_text", "answer_link", "note_short", "status")
    list_filter = ("status",)
    search_fields = ("note", "answer__question__text", "answer__text")
    list_select_related = ("answer", "answer__question")
    fields = ("answer_link", "question_text", "answer_text", "note", "status", "created_at", "resolved_at",
              "resolved_by")
    readonly_fields = fields
    actions = ("resolve_selected",)

    def has_add_permission(self, request):
        return False  # reports come from readers

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("question"))
    def question_text(self, obj):
        return obj.answer.question.text

    @admin.display(description=gettext_lazy("answer"))
    def answer_link(self, obj):
        return format_html('<a href="{}">#{}</a>', reverse("admin:contentlib_answer_change", args=[obj.answer_id]),
                           obj.answer_id)

    @admin.display(description=gettext_lazy("answer text"))
    def answer_text(self, obj):
        return obj.answer.text

    @admin.display(description=gettext_lazy("reader's note"))
    def note_short(self, obj):
        return Truncator(obj.note).chars(80)

    @admin.action(description=gettext_lazy("Mark selected reports resolved"), permissions=["change"])
    def resolve_selected(self, request, queryset):
        count = services.answer_reports_resolve(report_ids=list(queryset.values_list("id", flat=True)),
                                                actor=request.user)
        self.message_user(request, _("Resolved %(count)d report(s).") % {"count": count})
