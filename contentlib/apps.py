from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentlibConfig(AppConfig):
    name = "contentlib"
    verbose_name = _("Content library")
    default_auto_field = "django.db.models.BigAutoField"
