"""Readers' accounts: sign-up by email with a confirmation link, sign-in and out, password reset.

Sign-in goes through django-axes (authenticate() with the request), as the admin's does; sign-ups and
reset requests, which each send an email, are rate-limited per client. Neither page tells whether an
address has an account: a sign-up with a taken address reads like any other, and the address's owner
gets a mail with the sign-in and reset links instead of a confirmation link.
"""
from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.mail import send_mail
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from contentlib import readers, services
from contentlib.errors import ApplicationError
from contentlib.ratelimit import rate_limit_hit


class SignupForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput, strip=False,
                               help_text=gettext_lazy("At least 8 characters, not only digits, not a common password."))


class ReaderAuthenticationForm(AuthenticationForm):
    """Sign-in by email; says plainly when the account waits for its confirmation."""

    username = forms.CharField(label=gettext_lazy("Email or username"), max_length=150,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": gettext_lazy("The email and password do not match an account. Check both (the password "
                                      "is case-sensitive), or reset your password."),
        "inactive": gettext_lazy("This account is not confirmed yet. Open the link in the email we sent you, or "
                                 "sign up again with the same address to get a new link."),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and "@" in username:
            self.cleaned_data["username"] = username.strip().lower()
        try:
            return super().clean()
        except forms.ValidationError:
            self._explain_unconfirmed()
            raise

    def _explain_unconfirmed(self):
        from django.contrib.auth import get_user_model  # noqa: PLC0415

        user = get_user_model().objects.filter(username=self.cleaned_data.get("username")).first()
        if user is not None and not user.is_active and user.check_password(self.cleaned_data.get("password") or ""):
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive")


def _email_limit(request, scope: str):
    return rate_limit_hit(scope=scope, client=readers.rate_limit_client(request),
                          limit=settings.ACCOUNT_EMAIL_RATE_LIMIT_PER_HOUR, window_seconds=3600)


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("site:account")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from contentlib.site.views import too_many_requests  # noqa: PLC0415

        limit = _email_limit(request, "signup")
        if not limit.allowed:
            return too_many_requests(request, retry_after=limit.retry_after_seconds, message=_(
                "Too many sign-ups from your address this hour. Wait %(minutes)d minutes, then try again.")
                % {"minutes": max(1, limit.retry_after_seconds // 60)})
        try:
            user, token = services.reader_signup(email=form.cleaned_data["email"],
                                                 password=form.cleaned_data["password"])
        except ApplicationError as error:
            if error.extra.get("code") != "account_exists":
                form.add_error(error.extra.get("field"), error.message)
                return render(request, "site/signup.html", {"form": form})
            # The page reads as for a new address, so that it tells no one who has an account here;
            # the address's owner gets a mail with the ways in.
            email = form.cleaned_data["email"].strip().lower()
            context = {"login": request.build_absolute_uri(reverse("site:login")),
                       "reset": request.build_absolute_uri(reverse("site:password_reset"))}
            send_mail(subject=render_to_string("site/email/signup_exists_subject.txt", context).strip(),
                      message=render_to_string("site/email/signup_exists.txt", context),
                      from_email=None, recipient_list=[email])
        else:
            email = user.email
            link = request.build_absolute_uri(reverse("site:signup_confirm", args=[token]))
            context = {"link": link, "days": settings.READER_CONFIRM_DAYS}
            send_mail(subject=render_to_string("site/email/signup_subject.txt", context).strip(),
                      message=render_to_string("site/email/signup.txt", context),
                      from_email=None, recipient_list=[email])
        return render(request, "site/notice.html", {
            "heading": _("Check your email"),
            "message": _("We sent a confirmation link to %(email)s. Open it within %(days)d days to "
                         "activate your account.") % {"email": email, "days": settings.READER_CONFIRM_DAYS},
        })
    return render(request, "site/signup.html", {"form": form})


def signup_confirm(request, token: str):
    try:
        services.reader_confirm(token=token, max_age_seconds=settings.READER_CONFIRM_DAYS * 24 * 3600)
    except ApplicationError as error:
        return render(request, "site/notice.html", {"heading": _("The link did not work"), "message": error.message},
                      status=400)
    return render(request, "site/notice.html", {
        "heading": _("Your account is active"),
        "message": _("Sign in with your email and password."), "action_url": reverse("site:login"),
        "action": _("Sign in"),
    })


def account(request):
    from contentlib.selectors import membership_active  # noqa: PLC0415

    if not request.user.is_authenticated:
        return redirect(f"{reverse('site:login')}?next={reverse('site:account')}")
    return render(request, "site/account.html", {"membership": membership_active(user=request.user),
                                                 "orders": _orders(request.user)})


def _orders(user):
    from payments.selectors import orders_for_payer  # noqa: PLC0415 - the site may import payments

    return list(orders_for_payer(user=user)[:20])


class LoginView(auth_views.LoginView):
    template_name = "site/login.html"
    authentication_form = ReaderAuthenticationForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "site/password_reset.html"
    email_template_name = "site/email/password_reset.txt"
    subject_template_name = "site/email/password_reset_subject.txt"
    success_url = reverse_lazy("site:password_reset_done")

    def post(self, request, *args, **kwargs):
        from contentlib.site.views import too_many_requests  # noqa: PLC0415

        limit = _email_limit(request, "password-reset")
        if not limit.allowed:
            return too_many_requests(request, retry_after=limit.retry_after_seconds, message=_(
                "Too many password-reset requests from your address this hour. Wait %(minutes)d minutes, "
                "then try again.") % {"minutes": max(1, limit.retry_after_seconds // 60)})
        return super().post(request, *args, **kwargs)


def axes_username(request, credentials: dict | None) -> str | None:
    """The username django-axes records a sign-in attempt under (AXES_USERNAME_CALLABLE): as typed, cut
    to its column's 255 characters. Django's AuthenticationForm (the portal's and the admin's) checks no
    length, so a 100,000-character username reached axes's INSERT and the sign-in page answered 500."""
    field = settings.AXES_USERNAME_FORM_FIELD
    value = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return value[:255] if isinstance(value, str) else value
