from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SiteConfig(AppConfig):
    name = "contentlib.site"
    label = "site"
    verbose_name = _("Public site")

    def ready(self):
        from contentlib.config import checks  # noqa: F401, PLC0415 - registers the deploy checks
