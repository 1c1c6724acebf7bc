"""Advertisers. Campaigns, placements, tracking and billing grow here in later work."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Advertiser(models.Model):
    """An enterprise that submits articles and pays for sponsored placements."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("advertiser")
        verbose_name_plural = _("advertisers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
