from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrawlersConfig(AppConfig):
    name = "crawlers"
    verbose_name = _("Crawlers")
    default_auto_field = "django.db.models.BigAutoField"
