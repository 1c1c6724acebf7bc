from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "ads"
    verbose_name = "Advertising"
    default_auto_field = "django.db.models.BigAutoField"
