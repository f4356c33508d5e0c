"""What keeps cached feeds true and records profile visits: receivers of other apps' signals."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from accounts.models import User
from matching import feed, services
from matching.models import Ignore, Interest
from moderation.models import Block, Report, ReportStatus
from profiles.choices import VerificationStatus
from profiles.models import Career, Education, PartnerPreferences, Profile
from profiles.signals import profile_viewed


def _listed(profile: Profile) -> bool | None:
    """Whether the row says others may see the profile; None when not loaded."""
    if {"verification_status", "is_hidden"} & profile.get_deferred_fields():
        return None
    return profile.verification_status == VerificationStatus.APPROVED and not profile.is_hidden


def _profile_loaded(sender: Any, instance: Profile, **kwargs: Any) -> None:
    instance._was_listed = _listed(instance)  # type: ignore[attr-defined]


def _profile_saved(sender: Any, instance: Profile, created: bool, **kwargs: Any) -> None:
    feed.invalidate_member(instance.pk)
    was_listed = getattr(instance, "_was_listed", None)
    now_listed = _listed(instance)
    if not created and was_listed is not False and now_listed is False:
        feed.invalidate_everyone()  # hidden, or sent back to verification
    instance._was_listed = now_listed  # type: ignore[attr-defined]


def _profile_deleted(sender: Any, instance: Profile, **kwargs: Any) -> None:
    feed.invalidate_everyone()


def _section_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    feed.invalidate_member(instance.profile_id)


def _user_loaded(sender: Any, instance: User, **kwargs: Any) -> None:
    if "is_active" not in instance.get_deferred_fields():
        instance._was_active = instance.is_active  # type: ignore[attr-defined]


def _user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and getattr(instance, "_was_active", True) and not instance.is_active:
        feed.invalidate_everyone()  # suspended
    instance._was_active = instance.is_active  # type: ignore[attr-defined]


def _pair_changed(first: str, second: str) -> Any:
    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        feed.invalidate_member(getattr(instance, first), getattr(instance, second))

    return receiver


def _report_saved(sender: Any, instance: Report, **kwargs: Any) -> None:
    # Reports hold a member out of sight once enough of them arrive (moderation's auto-flag,
    # an update in the same transaction): look after commit whether this one did.
    reported_id = instance.reported_id

    def check() -> None:
        if Report.objects.filter(
            reported_id=reported_id, status=ReportStatus.PENDING, flagged=True
        ).exists():
            feed.invalidate_everyone()

    transaction.on_commit(check, robust=True)


def _viewed(sender: Any, viewer: User, profile: Profile, **kwargs: Any) -> None:
    services.visit_record(viewer=viewer, owner_id=profile.pk)


def connect() -> None:
    uid = "aurum.matching.feed"
    post_init.connect(_profile_loaded, sender=Profile, dispatch_uid=f"{uid}.profile")
    post_save.connect(_profile_saved, sender=Profile, dispatch_uid=f"{uid}.profile")
    post_delete.connect(_profile_deleted, sender=Profile, dispatch_uid=f"{uid}.profile")
    for section in (PartnerPreferences, Education, Career):
        for signal in (post_save, post_delete):
            signal.connect(_section_saved, sender=section, dispatch_uid=f"{uid}.{section.__name__}")
    post_init.connect(_user_loaded, sender=User, dispatch_uid=f"{uid}.user")
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
