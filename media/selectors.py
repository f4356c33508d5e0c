from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from aurum.permissions import has_staff_powers
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
    if viewer.pk == owner.pk or has_staff_powers(viewer):
        return photos
    if not can_see_photos(viewer=viewer, owner=owner, visibility=visibility):
        return photos.none()
    return photos.filter(status=PhotoStatus.APPROVED)


def primary_keys_of(owner_ids: list[Any], *, pending_too: set[Any]) -> dict[Any, tuple[str, str]]:
    """The (tiny, medium) keys of each owner's first photo, in one lean query: approved ones,
    and pending ones too for the owners in `pending_too` (the viewer's own; all, for staff)."""
    rows = (
        Photo.objects.filter(
            Q(status=PhotoStatus.APPROVED)
            | Q(owner_id__in=pending_too, status=PhotoStatus.PENDING),
            owner_id__in=owner_ids,
        )
        .order_by("owner_id", "-is_primary", "position")
        .values_list("owner_id", "tiny_key", "medium_key")
    )
    first: dict[Any, tuple[str, str]] = {}
    for owner_id, tiny, medium in rows:
        first.setdefault(owner_id, (tiny, medium))
    return first


def has_photos(*, owner_id: object) -> bool:
    return Photo.objects.filter(owner_id=owner_id).exists()
