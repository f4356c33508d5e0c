"""Profiles' reads: the profile and its sections, what a card's columns are, how recent
activity shows, completion, the verification queue. The rules over other apps' facts (who
may see whom, contact details, photos) are in `policy`, which this module does not import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from aurum.permissions import has_staff_powers
from profiles.models import Profile

WITH_SECTIONS = ("user", "education", "career", "family", "preferences")
# What a card (profiles.serializers.CardOut) and its photo read, and nothing else: lists of
# cards load these columns only.
CARD_COLUMNS = (
    "user_id",
    "date_of_birth",
    "height_cm",
    "religion",
    "caste",
    "district",
    "photo_visibility",
    "last_active_at",
    "created_at",
    "user__profile_code",
    "user__first_name",
    "career__occupation",
    "education__level",
)


class CardRef(Protocol):
    """What the photo rule needs of a card: a profile, or a card's row of values."""

    pk: Any
    photo_visibility: str


@dataclass(frozen=True)
class CardRow:
    """A card's row of plain values (`policy.card_values`), for lists that skip model instances."""

    values: dict[str, Any]

    @property
    def pk(self) -> Any:
        return self.values["user_id"]

    @property
    def photo_visibility(self) -> str:
        return self.values["photo_visibility"]


class Activity(StrEnum):
    """How recently a member was active, as strangers see it: local calendar days, so the
    bucket changes at midnight for everyone and not at a moment that betrays the member."""

    TODAY = "today"
    THIS_WEEK = "this_week"  # 1-6 days ago
    THIS_MONTH = "this_month"  # 7-29 days ago
    EARLIER = "earlier"


def activity_bucket(moment: datetime, today: date) -> Activity:
    days = (today - timezone.localdate(moment)).days
    if days <= 0:
        return Activity.TODAY
    if days < 7:
        return Activity.THIS_WEEK
    if days < 30:
        return Activity.THIS_MONTH
    return Activity.EARLIER


def last_active_shown(
    *, viewer: User, owner_id: Any, moment: datetime, hidden: bool, today: date
) -> tuple[datetime | None, Activity | None]:
    """What `viewer` may know of when the owner was last active, as (exact time, bucket): the
    member themself and staff get both; others only the bucket, and nothing when the owner
    hides their last seen (`hidden`, from `policy.hides_last_seen`). Pure: cards call it per
    row."""
    if viewer.pk == owner_id or has_staff_powers(viewer):  # staff with the MFA they need
        return moment, activity_bucket(moment, today)
    if hidden:
        return None, None
    return None, activity_bucket(moment, today)


def own_profile(*, user: User) -> Profile | None:
    return Profile.objects.select_related(*WITH_SECTIONS).filter(user=user).first()


def profile_row(member_id: Any) -> QuerySet[Profile]:
    """The member's profile row as a queryset (empty without one), for other apps' subqueries."""
    return Profile.objects.filter(pk=member_id)


def gender_of(member_id: Any) -> str | None:
    return profile_row(member_id).values_list("gender", flat=True).first()


def profiles_among(member_ids: Any) -> QuerySet[Profile]:
    """The profiles of `member_ids` (ids, or a subquery of them)."""
    return Profile.objects.filter(pk__in=member_ids)


def age_on(born: date | None, today: date | None = None) -> int | None:
    if born is None:
        return None
    today = today or timezone.localdate()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def section_or_none(profile: Profile, name: str) -> object | None:
    try:
        return getattr(profile, name)
    except Profile._meta.get_field(name).related_model.DoesNotExist:  # type: ignore[union-attr]
        return None


# Completion weights: what a member has filled in, out of 100. Basics weigh most because
# search and verification need them.
COMPLETION_WEIGHTS: dict[str, int] = {
    "basics": 35,
    "about": 5,
    "education": 10,
    "career": 15,
    "family": 10,
    "preferences": 15,
    "photo": 10,
}
BASIC_FIELDS = (
    "gender",
    "date_of_birth",
    "height_cm",
    "marital_status",
    "religion",
    "caste",
    "mother_tongue",
    "district",
)
NEXT_STEP_HINTS = {
    "basics": "Add your basic details: gender, date of birth, height, religion and district.",
    "about": "Write a few lines about yourself (at least 50 characters).",
    "education": "Add your education.",
    "career": "Add your occupation and income.",
    "family": "Tell members about your family.",
    "preferences": "Describe the partner you are looking for.",
    "photo": "Add a photo.",
}


def _has_content(section: object | None) -> bool:
    """A section counts when something is filled in, not merely when its row exists."""
    if section is None:
        return False
    return any(
        getattr(section, f.attname) not in (None, "", [])
        for f in section._meta.concrete_fields
        if not f.primary_key and f.name != "updated_at"
    )


def completion(*, profile: Profile, photo: bool) -> dict[str, object]:
    """`{"score": 0..100, "sections": {name: done}, "next_step": hint or None}`; `photo`:
    whether the member has one (media's fact, asked by `policy.completion`)."""
    done = {
        "basics": all(getattr(profile, f) not in (None, "") for f in BASIC_FIELDS),
        "about": len(profile.about.strip()) >= 50,
        "education": section_or_none(profile, "education") is not None,
        "career": section_or_none(profile, "career") is not None,
        "family": _has_content(section_or_none(profile, "family")),
        "preferences": section_or_none(profile, "preferences") is not None,
        "photo": photo,
    }
    score = sum(weight for name, weight in COMPLETION_WEIGHTS.items() if done[name])
    missing = [name for name in COMPLETION_WEIGHTS if not done[name]]
    return {
        "score": score,
        "sections": done,
        "next_step": NEXT_STEP_HINTS[missing[0]] if missing else None,
    }


# The order a moderator works in: oldest submission first. The API and the admin both use it.
QUEUE_ORDERING = ("submitted_at", "pk")


def pending_verifications() -> QuerySet[Profile]:
    """The verification queue: pending members with live accounts, oldest first."""
    return (
        Profile.objects.filter(verification_status="Pending", user__is_active=True)
        .select_related("user")
        .order_by(*QUEUE_ORDERING)
    )


def approvals_per_day(*, days: int) -> dict[date, int]:
    since = timezone.now() - timedelta(days=days)
    rows = (
        Profile.objects.filter(verification_status="Approved", reviewed_at__gte=since)
        .annotate(day=TruncDate("reviewed_at"))
        .values("day")
        .annotate(n=Count("pk"))
    )
    return {row["day"]: row["n"] for row in rows}


def pending_count() -> int:
    return pending_verifications().count()
