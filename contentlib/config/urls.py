from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from ads import conversion_views
from ads.portal import urls as portal_urls
from payments import portal as payments_portal

admin.site.site_header = _("Content library")
admin.site.site_title = _("Content library admin")
admin.site.index_title = _("Moderation and data")

urlpatterns = [
    path("admin/", admin.site.urls),
    # The enterprise portal; its online top-up pages are payments' (ads may not import payments).
    path("portal/", include((portal_urls.urlpatterns + payments_portal.urlpatterns, portal_urls.app_name))),
    # Conversions reported by advertisers' pages and servers (ads/conversions.py).
    path("reports/", include("ads.report_urls")),  # the analysts' reports (read only)
    path("conv/pixel.gif", conversion_views.pixel, name="conversion_pixel"),
    path("conv/postback", conversion_views.postback, name="conversion_postback"),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the site's language buttons
    path("", include("ads.urls")),  # /c/<token> (click redirects) and /v/<token> (viewability beacons)
    path("", include("payments.urls")),
    path("", include("contentlib.site.urls")),
]
