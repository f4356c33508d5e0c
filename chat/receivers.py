"""What chat does when other apps' facts change: an accepted interest opens the pair's
conversation; a block or a suspension ends live calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.models import User
from accounts.signals import account_closed
from aurum import events
from chat import services
from matching.signals import interest_accepted
from moderation.signals import block_created

if TYPE_CHECKING:
    from moderation.models import Block


def _interest_accepted(sender: Any, interest: Any, **kwargs: Any) -> None:
    services.conversation_open(interest.sender_id, interest.receiver_id)


def _block_created(sender: Any, block: Block, **kwargs: Any) -> None:
    services.calls_end_for(
        user_ids=[block.blocker_id, block.blocked_id], reason="blocked", between=True
    )


def _account_closed(sender: Any, user: User, why: str, **kwargs: Any) -> None:
    # A deleted account's calls end as a suspended one's: the other member hears the same.
    services.calls_end_for(user_ids=[user.pk], reason="suspended")
    events.send_to_group(services.calls_group(user.pk), {"type": "session.revoked"})


def connect() -> None:
    uid = "chat.receivers"
    interest_accepted.connect(_interest_accepted, dispatch_uid=f"{uid}.interest")
    block_created.connect(_block_created, dispatch_uid=f"{uid}.block")
    account_closed.connect(_account_closed, dispatch_uid=f"{uid}.closed")
