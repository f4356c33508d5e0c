from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import session_activity
from profiles import services


@receiver(session_activity, dispatch_uid="aurum.profiles.last_active")
def record_activity(sender: Any, user_id: Any, **kwargs: Any) -> None:
    services.profile_touch(user_id=user_id)
