"""Editors manage the segmentation lexicon here; changes re-segment the articles that contain them."""
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contentlib.admin import ReadOnlyAdmin
from contentlib.errors import ApplicationError
from recommender import lexicon
from recommender.models import CooccurrenceModel, LexiconTerm, ReaderActivity


@admin.register(LexiconTerm)
class LexiconTermAdmin(admin.ModelAdmin):
    list_display = ("term", "source", "active", "updated_at")
    list_filter = ("source", "active")
    search_fields = ("term",)
    fields = ("term", "source", "active")
    actions = ("deactivate_selected",)

    def get_readonly_fields(self, request, obj=None):
        return ("term", "source", "active") if obj else ()

    def save_model(self, request, obj, form, change):
        try:
            saved = lexicon.lexicon_term_add(term=obj.term, source=obj.source)
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = saved.pk
        self.message_user(request, _("“%(term)s” is kept whole; articles that contain it are being re-segmented.")
                          % {"term": saved.term})

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead, so the re-segmentation runs

    @admin.action(description=gettext_lazy("Deactivate selected terms (re-segments the articles that contain them)"))
    def deactivate_selected(self, request, queryset):
        for term in queryset.values_list("term", flat=True):
            lexicon.lexicon_term_deactivate(term=term)
        self.message_user(request, _("Deactivated %(count)d term(s).") % {"count": queryset.count()})


@admin.register(CooccurrenceModel)
class CooccurrenceModelAdmin(ReadOnlyAdmin):
    """The builds of the co-occurrence models, read-only: which one is active, how big, how long it took."""

    list_display = ("id", "active", "built_at", "events", "sessions", "queries", "articles", "pairs", "duration_seconds")
    list_filter = ("active",)
    fields = ("active", "built_at", "events", "sessions", "queries", "articles", "pairs", "params", "duration_seconds")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")  # the matrices stay in the database


@admin.register(ReaderActivity)
class ReaderActivityAdmin(ReadOnlyAdmin):
    """The reader activity log, read-only (append-only; purged by age)."""

    list_display = ("at", "kind", "placement", "query", "article_id", "question_id", "ad_day")
    list_filter = ("kind", "placement", "ad_day")
    search_fields = ("query",)
    date_hierarchy = "ad_day"
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
