"""What keeps cached feeds true and records profile visits: receivers of other apps' signals."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from accounts.models import User
from matching import feed, services
from matching.models import Ignore, Interest
from moderation.models import Block, Report
from profiles.models import Career, Education, PartnerPreferences, Profile
from profiles.signals import profile_viewed


def _profile_saved(sender: Any, instance: Profile, **kwargs: Any) -> None:
    feed.invalidate_member(instance.pk)
    if instance.is_hidden:
        feed.invalidate_everyone()


def _section_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    feed.invalidate_member(instance.profile_id)


def _user_saved(
    sender: Any, instance: User, created: bool, update_fields: Any, **kwargs: Any
) -> None:
    changed = update_fields is None or {"is_active", "admin_approved"} & set(update_fields)
    if not created and changed and not (instance.is_active and instance.admin_approved):
        feed.invalidate_everyone()


def _pair_changed(first: str, second: str) -> Any:
    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        feed.invalidate_member(getattr(instance, first), getattr(instance, second))

    return receiver


def _report_saved(sender: Any, instance: Report, **kwargs: Any) -> None:
    feed.invalidate_everyone()  # a report can hold its member for review (auto-flag)


def _viewed(sender: Any, viewer: User, profile: Profile, **kwargs: Any) -> None:
    services.visit_record(viewer=viewer, owner_id=profile.pk)


def connect() -> None:
    uid = "aurum.matching.feed"
    post_save.connect(_profile_saved, sender=Profile, dispatch_uid=f"{uid}.profile")
    for section in (PartnerPreferences, Education, Career):
        for signal in (post_save, post_delete):
            signal.connect(_section_saved, sender=section, dispatch_uid=f"{uid}.{section.__name__}")
    post_save.connect(_user_saved, sender=User, dispatch_uid=f"{uid}.user")
    for model, first, second in (
        (Block, "blocker_id", "blocked_id"),
        (Ignore, "owner_id", "target_id"),
        (Interest, "sender_id", "receiver_id"),
    ):
        for signal in (post_save, post_delete):
            signal.connect(
                _pair_changed(first, second),
                sender=model,
                dispatch_uid=f"{uid}.{model.__name__}",
                weak=False,
            )
    post_save.connect(_report_saved, sender=Report, dispatch_uid=f"{uid}.report")
    profile_viewed.connect(_viewed, dispatch_uid="aurum.matching.visits")
