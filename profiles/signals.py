from __future__ import annotations

from typing import Any

from django.dispatch import Signal, receiver

from accounts.signals import session_activity
from profiles import services

# Sent when a member opens another member's profile (not their own, not staff): matching
# records the visit. Arguments: viewer, profile.
profile_viewed = Signal()

# Sent by `services.profile_update` inside its transaction when a member changes who may see
# them or their photos (`photo_visibility`, `is_hidden`): media ends the photo URLs already
# handed out. Arguments: profile, fields (the names of those that changed).
profile_privacy_changed = Signal()


@receiver(session_activity, dispatch_uid="aurum.profiles.last_active")
def record_activity(sender: Any, user_id: Any, **kwargs: Any) -> None:
    services.profile_touch(user_id=user_id)
