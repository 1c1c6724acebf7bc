from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "内容库 · Content library"
admin.site.site_title = "Content library admin"
admin.site.index_title = "Moderation and data"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("contentlib.site.urls")),
]
