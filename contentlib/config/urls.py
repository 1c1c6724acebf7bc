from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Content library")
admin.site.site_title = _("Content library admin")
admin.site.index_title = _("Moderation and data")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/", include("ads.portal.urls")),  # the enterprise portal
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the site's language buttons
    path("", include("payments.urls")),
    path("", include("contentlib.site.urls")),
]
