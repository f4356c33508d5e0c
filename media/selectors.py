from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from media.models import Photo, PhotoStatus
from media.signing import photo_url, signed_url


def photo_by_id(*, value: str) -> Photo | None:
    try:
        return Photo.objects.filter(pk=uuid.UUID(str(value))).first()
    except ValueError:
        return None


FIRST_PHOTO_ORDER = ("-is_primary", "position")  # a member's first photo: their primary one


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
        .order_by("owner_id", *FIRST_PHOTO_ORDER)
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


def own_first_photo(*, owner_id: object) -> tuple[dict[str, str] | None, bool]:
    """The owner's first photo as their own profile shows it (approved or pending, as
    `first_photo_urls` with the owner in `pending_too`), and whether they have any photo at
    all (rejected ones too, as `has_photos`): one query for both."""
    rows = (
        Photo.objects.filter(owner_id=owner_id)
        .order_by(*FIRST_PHOTO_ORDER)
        .values_list("id", "status", "url_version", "tiny_key", "medium_key")
    )
    found = False
    for photo_id, status, version, tiny, medium in rows:
        found = True
        if status in (PhotoStatus.APPROVED, PhotoStatus.PENDING):
            return _card_urls(photo_id, version, tiny, medium), True
    return None, found


def _card_urls(photo_id: Any, version: int, tiny: str, medium: str) -> dict[str, str]:
    return {
        "tiny_url": signed_url(tiny, photo_id=photo_id, version=version),
        "medium_url": signed_url(medium, photo_id=photo_id, version=version),
    }


# The photo's parts of cards, galleries and search's filter; policy.cards decides whose.


def first_photo_urls(
    owner_ids: Iterable[Any], *, pending_too: set[Any]
) -> dict[object, dict[str, str]]:
    """Each owner's first photo (`primary_keys_of`) as the card's signed URLs."""
    keys = primary_keys_of(list(owner_ids), pending_too=pending_too)
    return {owner_id: _card_urls(*found) for owner_id, found in keys.items()}


def gallery_items(photos: Iterable[Photo]) -> list[dict[str, str]]:
    """Photos with their URLs and review state, as a profile's gallery shows them."""
    return [
        {
            "tiny_url": photo_url(photo, photo.tiny_key),
            "medium_url": photo_url(photo, photo.medium_key),
            "status": photo.status,
        }
        for photo in photos
    ]


def approved_photos(owner: Any) -> QuerySet[Photo]:
    """`owner`'s approved photos: an id, a user, or an expression (`OuterRef("pk")`)."""
    return Photo.objects.filter(owner=owner, status=PhotoStatus.APPROVED)
