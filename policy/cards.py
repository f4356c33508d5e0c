"""What a card, a profile and a gallery show of a member: their photos (media's rows under the
photo rule), their last activity (chat's "show last seen" switch), search's `with_photo`, and
the profile's completion (media's photo counts for it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Expression, OuterRef, QuerySet

from accounts import selectors as user_selectors
from accounts.models import User
from aurum.permissions import has_staff_powers
from chat import selectors as chat_selectors
from media import selectors as media_selectors
from media.models import Photo, PhotoStatus
from policy.contact import _granted, can_see_photos, photos_open_to
from policy.visibility import self_or_staff, visible_profiles
from profiles import selectors as profile_selectors
from profiles.models import Profile
from profiles.selectors import CARD_COLUMNS, WITH_SECTIONS, CardRef, CardRow


def hides_last_seen() -> Expression:
    """An annotation over profiles: true where the owner keeps their last seen to themself
    (chat's switch), read in the list's own statement."""
    return chat_selectors.hides_last_seen()


def last_seen_hidden_among(*, viewer: User, owner_ids: list[Any]) -> set[Any]:
    """Those of `owner_ids` whose last activity `viewer` may not see even as a bucket, in one
    query (none when it cannot matter: staff, the viewer's own card)."""
    ids = [pk for pk in owner_ids if pk != viewer.pk]
    if not ids or has_staff_powers(viewer):
        return set()
    rows = Profile.objects.filter(hides_last_seen(), pk__in=ids).values_list("pk", flat=True)
    return set(rows)


def card_values(profiles: QuerySet[Profile], *extra: str) -> QuerySet[Any]:
    """The card's columns, whether the owner hides their last seen (`hides_last_seen`) and
    has an approved photo (`has_photo`), and `extra` annotations, as dicts: no model
    instances to build, which is most of a page's cost in Python."""
    return profiles.annotate(
        hides_last_seen=hides_last_seen(),
        has_photo=Exists(media_selectors.approved_photos(OuterRef("pk"))),
    ).values(*CARD_COLUMNS, "hides_last_seen", "has_photo", *extra)


def profile_for_viewer(*, viewer: User, public_id: str) -> Profile | None:
    """The profile named by UUID or profile code, or None when it does not exist *or* the
    viewer may not see it (the API answers both with 404). One query, sections included."""
    named = user_selectors.public_id_condition(value=public_id, prefix="user__")
    if named is None:
        return None
    own = user_selectors.public_id_value(value=public_id) in (viewer.pk, viewer.profile_code)
    if own or has_staff_powers(viewer):
        candidates = Profile.objects.all()
    else:
        candidates = visible_profiles(viewer=viewer)
    return (
        candidates.select_related("user", *WITH_SECTIONS)
        .annotate(hides_last_seen=hides_last_seen())
        .filter(named)
        .first()
    )


@dataclass(frozen=True)
class ProfileSeen:
    """A profile `viewer` may see, with what the photo and contact rules allow of it, each
    rule asked once (the visibility rule already was, by `profile_for_viewer`)."""

    profile: Profile
    photo: dict[str, str] | None
    contact: bool


def profile_seen(*, viewer: User, public_id: str) -> ProfileSeen | None:
    """`profile_for_viewer`, its first photo under the photo rule and whether its contact
    details show: at most three queries (the profile, the viewer's accepted interest with
    its owner, the photo)."""
    profile = profile_for_viewer(viewer=viewer, public_id=public_id)
    if profile is None:
        return None
    staff = has_staff_powers(viewer)
    if staff or profile.pk == viewer.pk:
        granted = True
    else:
        granted = profile.pk in _granted(viewer, [profile.pk])
    photos_open = granted or profile.photo_visibility != "accepted_interests"
    allowed = {profile.pk} if photos_open else set()
    pending_too = allowed if staff or profile.pk == viewer.pk else set()
    photo = dict(media_selectors.first_photo_urls(allowed, pending_too=pending_too)).get(profile.pk)
    return ProfileSeen(profile=profile, photo=photo, contact=granted)


def photos_for_cards(
    *, viewer: User, profiles: Sequence[CardRef], visible: bool = False
) -> dict[object, dict[str, str] | None]:
    """Each card's first approved photo under the photo rule, for a whole list ({tiny_url,
    medium_url} by profile id; the viewer's own pending ones too, and all for staff)."""
    if not profiles:
        return {}
    allowed = photos_open_to(viewer=viewer, profiles=profiles, visible=visible)
    pending_too = allowed if has_staff_powers(viewer) else allowed & {viewer.pk}
    return dict(media_selectors.first_photo_urls(allowed, pending_too=pending_too))


def photos_from_rows(*, viewer: User, rows: list[dict[str, Any]]) -> dict[object, Any]:
    """Each `card_values` row's photo under the photo rule: the rows came from the visibility
    rule, so only the owners' photo settings are asked, and only of owners with an approved
    photo (no query at all for a page without one). Staff and the viewer's own card count
    pending photos too, so theirs are always asked. A row cached before `has_photo` existed
    counts as having one."""
    staff = has_staff_powers(viewer)
    with_photo = [
        CardRow(row)
        for row in rows
        if staff or row["user_id"] == viewer.pk or row.get("has_photo", True)
    ]
    return photos_for_cards(viewer=viewer, profiles=with_photo, visible=True)


def photo_for(*, viewer: User, profile: Profile) -> dict[str, str] | None:
    return photos_for_cards(viewer=viewer, profiles=[profile]).get(profile.pk)


def photos_for(*, viewer: User, owner: User, visibility: str | None = None) -> QuerySet[Photo]:
    """The owner's photos `viewer` may see: all of them for the owner and staff; for others,
    approved ones only, and only where the photo rule allows."""
    photos = Photo.objects.filter(owner=owner)
    if self_or_staff(viewer, owner):
        return photos
    if not can_see_photos(viewer=viewer, owner=owner, visibility=visibility):
        return photos.none()
    return photos.filter(status=PhotoStatus.APPROVED)


def gallery_for(*, viewer: User, profile: Profile) -> list[dict[str, str]]:
    """Every photo of the profile `viewer` may see, `{tiny_url, medium_url, status}` each."""
    photos = photos_for(viewer=viewer, owner=profile.user, visibility=profile.photo_visibility)
    return media_selectors.gallery_items(photos)


def with_photo(profiles: QuerySet[Profile]) -> QuerySet[Profile]:
    """Search's `with_photo`: an approved photo every member may see."""
    approved = media_selectors.approved_photos(OuterRef("pk"))
    return profiles.filter(Exists(approved), photo_visibility="all_members")


def completion(*, profile: Profile, has_photo: bool | None = None) -> dict[str, object]:
    """The profile's completion (`profiles.selectors.completion`), its photo step from media
    (asked here unless `has_photo` is known, from `own_photo`)."""
    if has_photo is None:
        has_photo = media_selectors.has_photos(owner_id=profile.pk)
    return profile_selectors.completion(profile=profile, photo=has_photo)


def own_photo(*, viewer: User, profile: Profile) -> tuple[dict[str, str] | None, bool] | None:
    """For the owner and staff: the profile's first photo as they see it (pending ones too)
    and whether it has any photo (its completion's step), in one query. None for anyone
    else, who goes through the photo rule (`photo_for`)."""
    if not self_or_staff(viewer, profile.user):
        return None
    return media_selectors.own_first_photo(owner_id=profile.pk)
