from django.contrib.auth import views as auth_views
from django.contrib.sitemaps.views import sitemap
from django.urls import path, reverse_lazy

from contentlib.site import accounts, api, questions, views
from contentlib.site.sitemaps import SITEMAPS

app_name = "site"
urlpatterns = [
    path("", views.home, name="home"),
    path("articles/", views.article_list, name="article_list"),
    # Readers' (and later enterprises') sign-in; throttled by django-axes like the admin's.
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="site:home"), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/confirm/<str:token>/", accounts.signup_confirm, name="signup_confirm"),
    path("accounts/", accounts.account, name="account"),
    path("accounts/password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/done/", auth_views.PasswordResetDoneView.as_view(
        template_name="site/password_reset_done.html"), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="site/password_reset_confirm.html", success_url=reverse_lazy("site:password_reset_complete")),
        name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="site/password_reset_complete.html"), name="password_reset_complete"),
    path("articles/<int:article_id>/", views.article_detail, name="article_detail"),
    path("search/", views.search, name="search"),
    path("q/<str:slug>", questions.question_detail, name="question_detail"),
    path("q/<str:slug>/report", questions.answer_report, name="answer_report"),
    path("ask/", questions.ask, name="ask"),
    path("ask/<str:slug>/wait", questions.ask_wait, name="ask_wait"),
    path("ask/<str:slug>/status", questions.ask_status, name="ask_status"),
    path("api/v1/recommendations", api.recommendations, name="api_recommendations"),
    path("api/v1/openapi.yaml", api.openapi_description, name="api_openapi"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("healthz", views.healthz, name="healthz"),
]
