"""What profiles holds on a member, for `accounts.privacy`."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from profiles.models import Profile
from profiles.services import SECTION_MODELS


def export(user: User) -> dict[str, Any] | None:
    profile = Profile.objects.filter(user=user).values().first()
    if profile is None:
        return None
    profile.pop("reviewed_by_id")  # which moderator: staff's, not the member's
    for name, model in SECTION_MODELS.items():
        section = model.objects.filter(profile__user=user).values().first()
        profile[name] = section
    return profile


def erase(user: User) -> None:
    Profile.objects.filter(user=user).delete()  # its sections go with it
