"""Who may see a member's contact details and photos: whoever may see the member (the
visibility rule) and, where the owner keeps them to accepted interests, whom an accepted
interest joins to them (matching's fact, asked for a whole list at once)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from accounts.models import User
from aurum.permissions import has_staff_powers
from matching.selectors import accepted_among
from policy.visibility import can_see, self_or_staff, visible_profiles
from profiles.models import Profile
from profiles.selectors import CardRef


def _granted(viewer: User, owner_ids: list[Any]) -> set[Any]:
    """Those of `owner_ids` an accepted interest joins to `viewer` (no query for none)."""
    return accepted_among(viewer, owner_ids) if owner_ids else set()


def can_see_contact(*, viewer: User, owner: User) -> bool:
    """Phone, email and WhatsApp: the member, staff, and a member an accepted interest joins
    to them."""
    if self_or_staff(viewer, owner):
        return True
    return can_see(viewer=viewer, owner=owner) and owner.pk in _granted(viewer, [owner.pk])


def can_see_photos(*, viewer: User, owner: User, visibility: str | None = None) -> bool:
    """Photos follow the owner's `photo_visibility`: all members who may see them, or only
    those an accepted interest joins to them."""
    if self_or_staff(viewer, owner):
        return True
    if not can_see(viewer=viewer, owner=owner):
        return False
    if visibility is None:
        visibility = (
            Profile.objects.filter(user=owner).values_list("photo_visibility", flat=True).first()
        )
    if visibility == "accepted_interests":
        return owner.pk in _granted(viewer, [owner.pk])
    return True


def photos_open_to(
    *, viewer: User, profiles: Sequence[CardRef], visible: bool = False
) -> set[object]:
    """`can_see_photos` for a whole list: the ids of the owners whose photos `viewer` may see.
    One query for the visibility rule (none when `visible=True`: the list came from
    `visible_profiles` just now) and one for the grants of the owners keeping photos to
    accepted interests (none when there are none)."""
    staff = has_staff_powers(viewer)
    ids = [p.pk for p in profiles if not (staff or p.pk == viewer.pk)]
    open_ids = {p.pk for p in profiles if staff or p.pk == viewer.pk}
    if ids:
        visible_ids = (
            set(ids)
            if visible
            else set(
                visible_profiles(viewer=viewer).filter(pk__in=ids).values_list("pk", flat=True)
            )
        )
        shown = [p for p in profiles if p.pk in visible_ids]
        kept = [p.pk for p in shown if p.photo_visibility == "accepted_interests"]
        granted = _granted(viewer, kept)
        open_ids |= {p.pk for p in shown if p.photo_visibility != "accepted_interests"} | granted
    return open_ids
