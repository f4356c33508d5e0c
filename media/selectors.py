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


def primary_keys_of(
    owner_ids: list[Any], *, pending_too: set[Any]
) -> dict[Any, tuple[Any, int, str, str]]:
    """The (id, url_version, tiny key, medium key) of each owner's first photo, in one lean
    query: approved ones, and pending ones too for the owners in `pending_too` (the viewer's
    own; all, for staff)."""
    rows = (
        Photo.objects.filter(
            Q(status=PhotoStatus.APPROVED)
            | Q(owner_id__in=pending_too, status=PhotoStatus.PENDING),
            owner_id__in=owner_ids,
        )
        .order_by("owner_id", "-is_primary", "position")
        .values_list("owner_id", "id", "url_version", "tiny_key", "medium_key")
    )
    first: dict[Any, tuple[Any, int, str, str]] = {}
    for owner_id, photo_id, version, tiny, medium in rows:
        first.setdefault(owner_id, (photo_id, version, tiny, medium))
    return first


def photo_url_is_current(*, photo_id: uuid.UUID, version: int, key: str) -> bool:
    """Whether a URL signed for `key` of that photo at that `url_version` still stands: the
    photo exists, `key` is one of its renditions, and its version has not moved on."""
    row = (
        Photo.objects.filter(pk=photo_id)
        .values_list("url_version", "tiny_key", "medium_key", "full_key")
        .first()
    )
    return row is not None and row[0] == version and key in row[1:]


def has_photos(*, owner_id: object) -> bool:
    return Photo.objects.filter(owner_id=owner_id).exists()
