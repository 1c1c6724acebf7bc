"""django-axes (the login throttle) in the admin, in the site's languages.

django-axes ships no Chinese catalog, so its admin section (访问尝试, 访问日志) would show English
among Chinese. Its app is installed through `AxesConfig` for a translated section name, and the
strings its models and admin use are listed here so that `make messages` keeps them in our catalog
(locale/, which Django reads before the apps' own).
"""
from axes.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class AxesConfig(AppConfig):
    verbose_name = _("Login throttling")


AXES_STRINGS = [
    gettext_noop("access attempt"), gettext_noop("access attempts"), gettext_noop("Access Attempt"),
    gettext_noop("access attempt expiration"), gettext_noop("access attempt expirations"),
    gettext_noop("access failure"), gettext_noop("access failures"),
    gettext_noop("access log"), gettext_noop("access logs"),
    gettext_noop("Access lock out"), gettext_noop("Attempt Remaining"), gettext_noop("Attempt Time"),
    gettext_noop("Clean up expired attempts"), gettext_noop("Expires At"), gettext_noop("Failed Logins"),
    gettext_noop("Form Data"), gettext_noop("GET Data"), gettext_noop("POST Data"), gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"), gettext_noop("Locked Out"), gettext_noop("Logout Time"), gettext_noop("Meta Data"),
    gettext_noop("Not set"), gettext_noop("Path"), gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."), gettext_noop("User Agent"),
]
