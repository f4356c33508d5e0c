"""What profiles holds on a member, for `accounts.privacy`."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from profiles.models import Career, Education, Family, PartnerPreferences, Profile

SECTIONS = {
    "education": Education,
    "career": Career,
    "family": Family,
    "preferences": PartnerPreferences,
}


def export(user: User) -> dict[str, Any] | None:
    profile = Profile.objects.filter(user=user).values().first()
    if profile is None:
        return None
    profile.pop("reviewed_by_id")  # which moderator: staff's, not the member's
    for name, model in SECTIONS.items():
        section = model.objects.filter(profile__user=user).values().first()
        profile[name] = section
    return profile


def erase(user: User) -> None:
    Profile.objects.filter(user=user).delete()  # its sections go with it
