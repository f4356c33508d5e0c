from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import User
from media.models import Photo, PhotoStatus
from profiles.selectors import can_see_photos


def photo_by_id(*, value: str) -> Photo | None:
    try:
        return Photo.objects.filter(pk=uuid.UUID(str(value))).first()
    except ValueError:
        return None


def photos_for(*, viewer: User, owner: User, visibility: str | None = None) -> QuerySet[Photo]:
    """The owner's photos `viewer` may see: all of them for the owner and staff; for others,
    approved ones only, and only where the photo rule in profiles allows."""
    photos = Photo.objects.filter(owner=owner)
    if viewer.pk == owner.pk or viewer.is_staff:
        return photos
    if not can_see_photos(viewer=viewer, owner=owner, visibility=visibility):
        return photos.none()
    return photos.filter(status=PhotoStatus.APPROVED)


def primary_photo_for(*, viewer: User, owner: User, visibility: str | None = None) -> Photo | None:
    photos = photos_for(viewer=viewer, owner=owner, visibility=visibility)
    return photos.order_by("-is_primary", "position").first()


def has_photos(*, owner_id: object) -> bool:
    return Photo.objects.filter(owner_id=owner_id).exists()
