"""What media holds on a member, for `accounts.privacy`: photos, as signed URLs."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from media.models import Photo
from media.services import as_payload


def export(user: User) -> list[dict[str, Any]]:
    return [as_payload(photo) for photo in Photo.objects.filter(owner=user)]


def erase(user: User) -> None:
    # Each row's renditions leave storage once the deletion commits (media/apps.py).
    Photo.objects.filter(owner=user).delete()
