"""Advertisers. Campaigns, placements, tracking and billing grow here in later work."""
from django.db import models


class Advertiser(models.Model):
    """An enterprise that submits articles and pays for sponsored placements."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
