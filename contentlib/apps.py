from django.apps import AppConfig


class ContentlibConfig(AppConfig):
    name = "contentlib"
    verbose_name = "Content library"
    default_auto_field = "django.db.models.BigAutoField"
