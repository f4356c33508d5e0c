"""What profiles does when other apps' facts change: a session started or renewed is the
member's last activity (`accounts.signals.session_activity`)."""

from __future__ import annotations

from typing import Any

from accounts.signals import session_activity
from profiles import services


def _session_activity(sender: Any, user_id: Any, **kwargs: Any) -> None:
    services.profile_touch(user_id=user_id)


def connect() -> None:
    session_activity.connect(_session_activity, dispatch_uid="aurum.profiles.last_active")
