from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdsConfig(AppConfig):
    name = "ads"
    verbose_name = _("Advertising")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save  # noqa: PLC0415

        from contentlib.models import Article  # noqa: PLC0415

        from .models import Placement  # noqa: PLC0415

        # The sponsored block's per-process caches: a change saved in this process shows at once.
        for model in (Placement, Article):
            post_save.connect(_block_caches_forget, sender=model, dispatch_uid=f"ads-block-{model.__name__}-save")
            post_delete.connect(_block_caches_forget, sender=model, dispatch_uid=f"ads-block-{model.__name__}-delete")


def _block_caches_forget(**_signal) -> None:
    """Imports the block only when a save happens: start-up stays without it (the judged set's yaml)."""
    from ads.sponsored import block_caches_forget  # noqa: PLC0415

    block_caches_forget()
