from django.urls import path

from contentlib.site import views

app_name = "site"
urlpatterns = [
    path("", views.article_list, name="article_list"),
    path("articles/<int:article_id>/", views.article_detail, name="article_detail"),
    path("search/", views.search, name="search"),
    path("healthz", views.healthz, name="healthz"),
]
