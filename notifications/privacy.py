"""What notifications holds on a member, for `accounts.privacy`."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from notifications.models import DeviceToken, Notification, Preferences
from notifications.services import devices_forget


def export(user: User) -> dict[str, Any]:
    return {
        "notifications": list(
            Notification.objects.filter(recipient=user)
            .order_by("created_at")
            .values("id", "kind", "title", "body", "data", "read_at", "created_at")
        ),
        "devices": list(
            DeviceToken.objects.filter(user=user)
            .order_by("created_at")
            .values("token", "platform", "last_seen_at", "created_at")
        ),
        "preferences": Preferences.objects.filter(user=user)
        .values(
            "email",
            "sms",
            "push",
            "muted_kinds",
            "digest_matches",
            "digest_interests",
            "quiet_from",
            "quiet_until",
            "updated_at",
        )
        .first(),
    }


def erase(user: User) -> None:
    Notification.objects.filter(recipient=user).delete()
    devices_forget(user=user)
    Preferences.objects.filter(user=user).delete()
