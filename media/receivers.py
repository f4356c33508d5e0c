"""What media does when facts change: a block, or a member narrowing who sees them, ends the
photo URLs already handed out (in the transaction that makes the change); a photo row gone
takes its files from storage after the commit."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete

from media import services
from media.models import Photo
from moderation.signals import block_created
from profiles.signals import profile_privacy_changed


def _block_created(sender: Any, block: Any, **kwargs: Any) -> None:
    # Both ways: each member loses the URLs of the other's photos (the blocker's own URLs go
    # too; the apps fetch fresh ones).
    services.photo_urls_revoke(owner_ids=[block.blocker_id, block.blocked_id])


def _privacy_changed(sender: Any, profile: Any, **kwargs: Any) -> None:
    services.photo_urls_revoke(owner_ids=[profile.pk])


def _photo_deleted(sender: Any, instance: Photo, **kwargs: Any) -> None:
    # However a photo row goes (a member's delete, an account deleted with its photos), its
    # renditions leave storage once that commits.
    services.remove_files_later(instance.keys)


def connect() -> None:
    post_delete.connect(_photo_deleted, sender=Photo, dispatch_uid="aurum.media.remove_files")
    uid = "aurum.media.revoke_urls"
    block_created.connect(_block_created, dispatch_uid=f"{uid}.block")
    profile_privacy_changed.connect(_privacy_changed, dispatch_uid=f"{uid}.privacy")
