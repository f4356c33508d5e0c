"""What matching does when other apps' facts change: cached feeds are dropped when what they
rank changes (matching.feed, after the commit), and profile visits are recorded.

Each fact comes from the app that owns it, sent by the service that changed it; matching's
own facts (interests, ignores) drop the feeds in matching.services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.models import User
from accounts.signals import account_closed
from matching import feed, services
from moderation.signals import block_created, block_removed, member_flagged
from profiles.signals import profile_changed, profile_listed_changed, profile_viewed

if TYPE_CHECKING:
    from moderation.models import Block
    from profiles.models import Profile


def _profile_changed(sender: Any, profile_id: Any, **kwargs: Any) -> None:
    feed.invalidate_member(profile_id)  # their preferences and details rank their feed


def _profile_listed_changed(sender: Any, profile_id: Any, listed: bool, **kwargs: Any) -> None:
    if not listed:
        feed.invalidate_everyone()  # hidden, or sent back to verification


def _account_closed(sender: Any, user: User, why: str, **kwargs: Any) -> None:
    feed.invalidate_everyone()  # suspended or deleted: no feed shows them any longer


def _member_flagged(sender: Any, user_id: Any, **kwargs: Any) -> None:
    feed.invalidate_everyone()  # held out of sight by reports until a moderator looks


def _block_created(sender: Any, block: Block, **kwargs: Any) -> None:
    feed.invalidate_member(block.blocker_id, block.blocked_id)


def _block_removed(sender: Any, blocker_id: Any, blocked_id: Any, **kwargs: Any) -> None:
    feed.invalidate_member(blocker_id, blocked_id)


def _viewed(sender: Any, viewer: User, profile: Profile, **kwargs: Any) -> None:
    services.visit_record(viewer=viewer, owner_id=profile.pk)


def connect() -> None:
    uid = "aurum.matching.feed"
    profile_changed.connect(_profile_changed, dispatch_uid=f"{uid}.profile")
    profile_listed_changed.connect(_profile_listed_changed, dispatch_uid=f"{uid}.listed")
    account_closed.connect(_account_closed, dispatch_uid=f"{uid}.closed")
    member_flagged.connect(_member_flagged, dispatch_uid=f"{uid}.flagged")
    block_created.connect(_block_created, dispatch_uid=f"{uid}.block")
    block_removed.connect(_block_removed, dispatch_uid=f"{uid}.unblock")
    profile_viewed.connect(_viewed, dispatch_uid="aurum.matching.visits")
