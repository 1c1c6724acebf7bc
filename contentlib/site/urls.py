from django.contrib.auth import views as auth_views
from django.urls import path

from contentlib.site import views

app_name = "site"
urlpatterns = [
    path("", views.article_list, name="article_list"),
    # Readers' and enterprises' sign-in (accounts come later); throttled by django-axes like the admin's.
    path("login/", auth_views.LoginView.as_view(template_name="site/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="site:article_list"), name="logout"),
    path("articles/<int:article_id>/", views.article_detail, name="article_detail"),
    path("search/", views.search, name="search"),
    path("healthz", views.healthz, name="healthz"),
]
