from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class PhotoStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Photo(models.Model):
    """A member's photo: three renditions in private storage under server-made keys."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos"
    )
    status = models.CharField(
        max_length=10, choices=PhotoStatus.choices, default=PhotoStatus.PENDING
    )
    is_primary = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    tiny_key = models.CharField(max_length=200)
    medium_key = models.CharField(max_length=200)
    full_key = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField(help_text="Size of all renditions together.")
    url_version = models.PositiveIntegerField(
        default=0,
        help_text="Signed into the photo's URLs; raised when fewer may see it, which ends them.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("position", "created_at")
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_primary=True), name="photo_one_primary"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="photo_review_idx")]

    def __str__(self) -> str:
        return f"Photo {self.id} of {self.owner_id}"

    @property
    def keys(self) -> list[str]:
        return [self.tiny_key, self.medium_key, self.full_key]


class StorageOrphan(models.Model):
    """A stored file whose photo is gone: written in the transaction that removes the photo,
    deleted once the file is. What storage refused stays here for the sweeper (media.tasks)."""

    key = models.CharField(max_length=300, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return self.key
