from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from aurum.permissions import has_staff_powers
from media.models import Photo, PhotoStatus
from media.signing import photo_url, signed_url
from profiles.selectors import can_see_photos, photos_open_to


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


# The photo's parts of profiles' cards, galleries and filters (connected in media.receivers).


def card_photos(viewer: Any, profiles: list[Any], visible: bool) -> dict[object, dict[str, str]]:
    """Each card's first approved photo under the photo rule, for a whole list."""
    allowed = photos_open_to(viewer=viewer, profiles=profiles, visible=visible)
    pending_too = allowed if has_staff_powers(viewer) else allowed & {viewer.pk}
    keys = primary_keys_of(list(allowed), pending_too=pending_too)
    return {
        owner_id: {
            "tiny_url": signed_url(tiny, photo_id=photo_id, version=version),
            "medium_url": signed_url(medium, photo_id=photo_id, version=version),
        }
        for owner_id, (photo_id, version, tiny, medium) in keys.items()
    }


def gallery(viewer: Any, profile: Any) -> list[dict[str, str]]:
    """The photos of `profile` that `viewer` may see, with their URLs and review state."""
    return [
        {
            "tiny_url": photo_url(photo, photo.tiny_key),
            "medium_url": photo_url(photo, photo.medium_key),
            "status": photo.status,
        }
        for photo in photos_for(
            viewer=viewer, owner=profile.user, visibility=profile.photo_visibility
        )
    ]


def with_photo(profiles: Any) -> Any:
    """Search's `with_photo`: an approved photo every member may see."""
    approved = Photo.objects.filter(owner=OuterRef("pk"), status=PhotoStatus.APPROVED)
    return profiles.filter(Exists(approved), photo_visibility="all_members")


def photo_complete(profile: Any) -> bool:
    """The profile's "photo" completion step."""
    return has_photos(owner_id=profile.pk)
