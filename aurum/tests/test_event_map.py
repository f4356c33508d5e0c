"""The whole map of who reacts to which domain signal, pinned: a receiver added or lost shows
here (and belongs in docs/architecture.md's table)."""

from __future__ import annotations

import weakref
from typing import Any

from accounts.signals import account_closed, session_activity
from matching.signals import interest_accepted
from moderation.signals import block_created
from profiles.signals import profile_privacy_changed, profile_viewed


def _reactions(signal: Any) -> set[str]:
    found = set()
    for _key, ref, *_ in signal.receivers:
        receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
        found.add(f"{receiver.__module__}.{receiver.__name__}")
    return found


def test_who_reacts_to_what():
    assert {
        "account_closed": _reactions(account_closed),
        "session_activity": _reactions(session_activity),
        "profile_viewed": _reactions(profile_viewed),
        "profile_privacy_changed": _reactions(profile_privacy_changed),
        "block_created": _reactions(block_created),
        "interest_accepted": _reactions(interest_accepted),
    } == {
        "account_closed": {
            "chat.receivers._account_closed",
            "notifications.receivers._account_closed",
        },
        "session_activity": {"profiles.signals.record_activity"},
        "profile_viewed": {"matching.receivers._viewed"},
        "profile_privacy_changed": {"media.receivers._privacy_changed"},
        "block_created": {"chat.receivers._block_created", "media.receivers._block_created"},
        "interest_accepted": {"chat.receivers._interest_accepted"},
    }
