from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from media.models import Photo, PhotoStatus
from profiles.models import Profile
from profiles.selectors import CardRef, can_see_photos, photos_open_to


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
    photos = primary_photos_for(viewer=viewer, profiles=[_profile_of(owner, visibility)])
    return photos.get(owner.pk)


def _profile_of(owner: User, visibility: str | None) -> Profile:
    if visibility is None:
        profile = Profile.objects.filter(user=owner).first()
        return profile or Profile(user=owner)
    return Profile(user=owner, photo_visibility=visibility)


def primary_photos_for(
    *, viewer: User, profiles: Sequence[CardRef], visible: bool = False
) -> dict[object, Photo]:
    """Each listed profile's first photo `viewer` may see, in two queries for any list: one
    to ask the photo rule for all of them (none when `visible`), one for their photos."""
    allowed = photos_open_to(viewer=viewer, profiles=profiles, visible=visible)
    if not allowed:
        return {}
    staff = viewer.is_staff
    own = {p.pk for p in profiles if p.pk == viewer.pk}
    photos = Photo.objects.filter(owner_id__in=allowed).order_by(
        "owner_id", "-is_primary", "position"
    )
    if not staff:
        photos = photos.filter(Q(status=PhotoStatus.APPROVED) | Q(owner_id__in=own))
    first: dict[object, Photo] = {}
    for photo in photos:
        first.setdefault(photo.owner_id, photo)
    return first


def primary_keys_of(owner_ids: list[Any]) -> dict[Any, tuple[str, str]]:
    """The (tiny, medium) keys of each owner's first approved photo, in one lean query."""
    rows = (
        Photo.objects.filter(owner_id__in=owner_ids, status=PhotoStatus.APPROVED)
        .order_by("owner_id", "-is_primary", "position")
        .values_list("owner_id", "tiny_key", "medium_key")
    )
    first: dict[Any, tuple[str, str]] = {}
    for owner_id, tiny, medium in rows:
        first.setdefault(owner_id, (tiny, medium))
    return first


def has_photos(*, owner_id: object) -> bool:
    return Photo.objects.filter(owner_id=owner_id).exists()
