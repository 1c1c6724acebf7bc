from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "contentlib.site"
    label = "site"
    verbose_name = "Public site"
