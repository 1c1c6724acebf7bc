"""Editors manage the segmentation lexicon here; changes re-segment the articles that contain them."""
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contentlib.errors import ApplicationError
from recommender import lexicon
from recommender.models import LexiconTerm


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
