"""The enterprise portal under /portal/. Sign-in, sign-out and passwords are Django's auth views
(throttled by django-axes like every sign-in) with the portal's templates."""
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import path, reverse_lazy

from ads.portal import views

app_name = "portal"


def _auth(view, template, **kwargs):
    return view.as_view(template_name=f"portal/{template}.html", **kwargs)


def _signed_in(view):
    """Anonymous users go to the portal's sign-in (Django's views would send them to LOGIN_URL, the site's)."""
    return login_required(view, login_url=reverse_lazy("portal:login"))


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("login/", _auth(auth_views.LoginView, "login", redirect_authenticated_user=True,
                         next_page=reverse_lazy("portal:dashboard")), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("portal:login")), name="logout"),
    path("password/", _signed_in(_auth(auth_views.PasswordChangeView, "password_change",
                                       success_url=reverse_lazy("portal:password_change_done"))),
         name="password_change"),
    path("password/done/", _signed_in(_auth(auth_views.PasswordChangeDoneView, "password_change_done")),
         name="password_change_done"),
    path("password/reset/", _auth(auth_views.PasswordResetView, "password_reset",
                                  email_template_name="portal/password_reset_email.txt",
                                  subject_template_name="portal/password_reset_subject.txt",
                                  success_url=reverse_lazy("portal:password_reset_done")), name="password_reset"),
    path("password/reset/sent/", _auth(auth_views.PasswordResetDoneView, "password_reset_done"),
         name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", _auth(auth_views.PasswordResetConfirmView, "password_reset_confirm",
                                                   success_url=reverse_lazy("portal:password_reset_complete")),
         name="password_reset_confirm"),
    path("password/reset/complete/", _auth(auth_views.PasswordResetCompleteView, "password_reset_complete"),
         name="password_reset_complete"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("articles/", views.article_list, name="article_list"),
    path("articles/new/", views.article_edit, name="article_new"),
    path("articles/<int:article_id>/", views.article_detail, name="article_detail"),
    path("articles/<int:article_id>/edit/", views.article_edit, name="article_edit"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_edit, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:campaign_id>/why-not-shown/", views.campaign_why, name="campaign_why"),
    path("campaigns/<int:campaign_id>/planner/", views.campaign_planner, name="campaign_planner"),
    path("campaigns/<int:campaign_id>/planner.json", views.campaign_planner_json, name="campaign_planner_json"),
    path("campaigns/<int:campaign_id>/submit/", views.campaign_submit, name="campaign_submit"),
    path("campaigns/<int:campaign_id>/pause/", views.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:campaign_id>/resume/", views.campaign_resume, name="campaign_resume"),
    path("campaigns/<int:campaign_id>/archive/", views.campaign_archive, name="campaign_archive"),
    path("campaigns/<int:campaign_id>/keywords/", views.keywords_add, name="keywords_add"),
    path("keywords/<int:keyword_id>/remove/", views.keyword_remove, name="keyword_remove"),
    path("campaigns/<int:campaign_id>/promotions/", views.promotion_add, name="promotion_add"),
    path("promotions/<int:promotion_id>/archive/", views.promotion_archive, name="promotion_archive"),
    path("reports/", views.reports_page, name="reports"),
    path("ledger/", views.ledger, name="ledger"),
    path("users/", views.users, name="users"),
    path("domains/", views.domains, name="domains"),
    path("domains/<int:domain_id>/verify/", views.domain_verify, name="domain_verify"),
]
