"""`manage.py check --deploy` warnings for settings only this project knows about."""
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_shared_cache(app_configs, **kwargs):
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        return [checks.Warning(
            "CACHE_URL is unset, so rate limits are counted in each process's memory: with several web "
            "processes a client gets the limit once per process.",
            hint="Set CACHE_URL=redis://host:6379/1 (a Redis database of its own).",
            id="contentlib.W001",
        )]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_proxy_count(app_configs, **kwargs):
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and settings.TRUSTED_PROXY_COUNT == 0:
        return [checks.Warning(
            "SECURE_PROXY_SSL_HEADER says a proxy stands in front, but TRUSTED_PROXY_COUNT=0: every client "
            "then has the proxy's address, and one client's searches use up everyone's rate limit.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies in front of Django (usually 1).",
            id="contentlib.W002",
        )]
    return []
