"""What chat does when other apps' facts change: an accepted interest opens the pair's
conversation; a block or a suspension ends live calls."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from accounts.models import User
from aurum import events
from chat import services
from matching.signals import interest_accepted
from moderation.models import Block


def _interest_accepted(sender: Any, interest: Any, **kwargs: Any) -> None:
    services.conversation_open(interest.sender_id, interest.receiver_id)


def _block_saved(sender: Any, instance: Block, created: bool, **kwargs: Any) -> None:
    if created:
        services.calls_end_for(
            user_ids=[instance.blocker_id, instance.blocked_id], reason="blocked", between=True
        )


def _user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        services.calls_end_for(user_ids=[instance.pk], reason="suspended")
        events.send_to_group(services.calls_group(instance.pk), {"type": "session.revoked"})


def connect() -> None:
    uid = "chat.receivers"
    interest_accepted.connect(_interest_accepted, dispatch_uid=f"{uid}.interest")
    post_save.connect(_block_saved, sender=Block, dispatch_uid=f"{uid}.block")
    post_save.connect(_user_saved, sender=User, dispatch_uid=f"{uid}.user")
