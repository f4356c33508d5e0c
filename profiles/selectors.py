"""The two rules every other app asks: who may see whom, and who may see contact details.

Other apps extend a rule here instead of copying it: moderation registers the blocks it
knows, matching registers accepted interests. Profiles imports neither of them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from django.db.models import BooleanField, Count, Expression, Q, QuerySet, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_by_public_id
from aurum.permissions import has_staff_powers
from aurum.statements import Statements, padded
from profiles.models import LISTED, Profile

# viewer -> Q over Profile rows the viewer must not see (e.g. members either side blocked).
VisibilityExclusion = Callable[[User], Q]
# (viewer, owner ids) -> the owners among them whose contact details something between them
# and the viewer opens (an accepted interest); asked for a whole list at once.
ContactGrant = Callable[[User, list[Any]], set[Any]]

# The same exclusion for many pairs of member ids at once: the pairs it keeps apart.
PairExclusion = Callable[[set[tuple[Any, Any]]], set[frozenset[Any]]]

_visibility_exclusions: list[VisibilityExclusion] = []
_pair_exclusions: list[PairExclusion] = []
_contact_grants: list[ContactGrant] = []


def register_visibility_exclusion(rule: VisibilityExclusion, pairs: PairExclusion) -> None:
    """`rule` for one viewer's lists, `pairs` the same rule for many pairs (chat, calls);
    a test holds the two forms of the whole rule equal."""
    if rule not in _visibility_exclusions:
        _visibility_exclusions.append(rule)
        _pair_exclusions.append(pairs)


def register_contact_grant(rule: ContactGrant) -> None:
    if rule not in _contact_grants:
        _contact_grants.append(rule)


def _granted(viewer: User, owner_ids: list[Any]) -> set[Any]:
    opened: set[Any] = set()
    for grant in _contact_grants if owner_ids else ():
        opened |= grant(viewer, owner_ids)
    return opened


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
    """A card's row of plain values (`card_values`), for lists that skip model instances."""

    values: dict[str, Any]

    @property
    def pk(self) -> Any:
        return self.values["user_id"]

    @property
    def photo_visibility(self) -> str:
        return self.values["photo_visibility"]


def card_values(profiles: QuerySet[Profile], *extra: str) -> QuerySet[Any]:
    """The card's columns, whether the owner hides their last seen (`hides_last_seen`), and
    `extra` annotations, as dicts: no model instances to build, which is most of a page's
    cost in Python."""
    return profiles.annotate(hides_last_seen=hides_last_seen()).values(
        *CARD_COLUMNS, "hides_last_seen", *extra
    )


def photos_from_rows(*, viewer: User, rows: list[dict[str, Any]]) -> dict[object, Any]:
    """Each `card_values` row's photo under the photo rule: the rows came from the visibility
    rule, so only the owners' photo settings are asked."""
    return photos_for_cards(viewer=viewer, profiles=[CardRow(row) for row in rows], visible=True)


def _self_or_staff(viewer: User, owner: User) -> bool:
    return viewer.pk == owner.pk or has_staff_powers(viewer)


def visible_profiles(*, viewer: User) -> QuerySet[Profile]:
    """Profiles of other members that `viewer` may see.

    Both active, the other approved and not hidden, neither blocking the other (through the
    registered exclusions). The viewer's own profile is not among them.

    Written so that no row is joined to its account: approval is the profile's verification
    (the account's `admin_approved` is written with it, in the same transaction), and the few
    inactive accounts are left out by a small anti-join. The search indexes are partial on
    exactly `LISTED`
    (profiles.models).
    """
    if not viewer.is_authenticated or not viewer.is_active:
        return Profile.objects.none()
    # One condition, one filter() call: every extra call would copy the whole query again.
    condition = (
        LISTED & ~Q(user=viewer) & ~Q(user_id__in=User.objects.filter(is_active=False).values("pk"))
    )
    for exclusion in _visibility_exclusions:
        condition &= ~exclusion(viewer)
    return Profile.objects.filter(condition)


def visible_pairs(pairs: set[tuple[Any, Any]]) -> set[frozenset[Any]]:
    """The pairs of member ids whose members each see the other (`visible_profiles` both
    ways), for many pairs at once: one query for the members, one per registered exclusion."""
    members = {member for pair in pairs for member in pair}
    if not members:
        return set()
    listed = listed_among(members)
    kept = {frozenset((a, b)) for a, b in pairs if a != b and a in listed and b in listed}
    for exclusion in _pair_exclusions if kept else ():
        kept -= exclusion({tuple(pair) for pair in kept})  # type: ignore[misc]
    return kept


# Chat asks `visible_pairs` on every batch of sends: its statement is compiled once per shape
# (aurum.statements), not once a batch.
PAIR_STATEMENTS = Statements("profiles pairs")


def _listed_among(values: Mapping[str, Any]) -> QuerySet[Any]:
    return Profile.objects.filter(
        LISTED, user_id__in=values["members"], user__is_active=True
    ).values("user_id")


def listed_among(member_ids: set[Any]) -> set[Any]:
    """Those of `member_ids` whom other members may see at all: active, approved and not
    hidden (`LISTED`), the half of the visibility rule that is about the member alone."""
    if not member_ids:
        return set()
    found = PAIR_STATEMENTS.rows("listed", {"members": padded(member_ids)}, _listed_among)
    return {row["user_id"] for row in found}


def can_act(*, member: User) -> bool:
    """Only a member others may see acts on others (interests, shortlists, chat, calls):
    otherwise the other member would hear, by name, of someone she gets a 404 for. Blocking,
    reporting and answering "no" stay open to everyone."""
    return bool(member.is_authenticated) and member.pk in listed_among({member.pk})


def can_see(*, viewer: User, owner: User) -> bool:
    if _self_or_staff(viewer, owner):
        return True
    return visible_profiles(viewer=viewer).filter(user_id=owner.pk).exists()


def can_see_contact(*, viewer: User, owner: User) -> bool:
    """Phone, email and WhatsApp: the member, staff, and whoever a registered grant allows
    (an accepted interest, once matching exists)."""
    if _self_or_staff(viewer, owner):
        return True
    return can_see(viewer=viewer, owner=owner) and owner.pk in _granted(viewer, [owner.pk])


def can_see_photos(*, viewer: User, owner: User, visibility: str | None = None) -> bool:
    """Photos follow the owner's `photo_visibility`: all members who may see them, or only
    members a registered grant opens (an accepted interest)."""
    if _self_or_staff(viewer, owner):
        return True
    if not can_see(viewer=viewer, owner=owner):
        return False
    if visibility is None:
        visibility = (
            Profile.objects.filter(user=owner).values_list("photo_visibility", flat=True).first()
        )
    if visibility == "accepted_interests":
        return owner.pk in _granted(viewer, [owner.pk])
    return True


def photos_open_to(
    *, viewer: User, profiles: Sequence[CardRef], visible: bool = False
) -> set[object]:
    """`can_see_photos` for a whole list: the ids of the owners whose photos `viewer` may see.
    One query for the visibility rule (none when `visible=True`: the list came from
    `visible_profiles` just now) and one for the grants of the owners keeping photos to
    accepted interests (none when there are none)."""
    staff = has_staff_powers(viewer)
    ids = [p.pk for p in profiles if not (staff or p.pk == viewer.pk)]
    open_ids = {p.pk for p in profiles if staff or p.pk == viewer.pk}
    if ids:
        visible_ids = (
            set(ids)
            if visible
            else set(
                visible_profiles(viewer=viewer).filter(pk__in=ids).values_list("pk", flat=True)
            )
        )
        shown = [p for p in profiles if p.pk in visible_ids]
        kept = [p.pk for p in shown if p.photo_visibility == "accepted_interests"]
        granted = _granted(viewer, kept)
        open_ids |= {p.pk for p in shown if p.photo_visibility != "accepted_interests"} | granted
    return open_ids


# Chat owns the member's "show last seen" switch: it registers a boolean expression over
# profile rows (true where the member keeps it off), so a list of cards reads it in its own
# statement.
_last_seen_rule: list[Callable[[], Expression]] = []


def register_last_seen_rule(rule: Callable[[], Expression]) -> None:
    _last_seen_rule[:] = [rule]


def hides_last_seen() -> Expression:
    """An annotation over profiles: true where the owner keeps their last seen to themself."""
    if not _last_seen_rule:
        return Value(False, output_field=BooleanField())
    return _last_seen_rule[0]()


def last_seen_hidden_among(*, viewer: User, owner_ids: list[Any]) -> set[Any]:
    """Those of `owner_ids` whose last activity `viewer` may not see even as a bucket, in one
    query (none when it cannot matter: staff, the viewer's own card, no rule)."""
    ids = [pk for pk in owner_ids if pk != viewer.pk]
    if not ids or not _last_seen_rule or has_staff_powers(viewer):
        return set()
    rows = Profile.objects.filter(_last_seen_rule[0](), pk__in=ids).values_list("pk", flat=True)
    return set(rows)


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
    hides their last seen (`hidden`, from `hides_last_seen`). Pure: cards call it per row."""
    if viewer.pk == owner_id or has_staff_powers(viewer):  # staff with the MFA they need
        return moment, activity_bucket(moment, today)
    if hidden:
        return None, None
    return None, activity_bucket(moment, today)


# Media provides cards' photos ({tiny_url, medium_url} or None per profile id) for a whole
# list at once, without profiles importing it.
PhotoProvider = Callable[[User, Sequence[CardRef], bool], dict[object, dict[str, str] | None]]
_photo_provider: list[PhotoProvider] = []


def register_photo_provider(provider: PhotoProvider) -> None:
    _photo_provider[:] = [provider]


def photos_for_cards(
    *, viewer: User, profiles: Sequence[CardRef], visible: bool = False
) -> dict[object, dict[str, str] | None]:
    if not _photo_provider or not profiles:
        return {}
    return _photo_provider[0](viewer, profiles, visible)


def photo_for(*, viewer: User, profile: Profile) -> dict[str, str] | None:
    return photos_for_cards(viewer=viewer, profiles=[profile]).get(profile.pk)


# Media narrows a list to profiles with a photo every member may see, for search's
# `with_photo`, without profiles importing it.
_photo_filter: list[Callable[[QuerySet[Profile]], QuerySet[Profile]]] = []


def register_photo_filter(narrow: Callable[[QuerySet[Profile]], QuerySet[Profile]]) -> None:
    _photo_filter[:] = [narrow]


def with_photo(profiles: QuerySet[Profile]) -> QuerySet[Profile]:
    return _photo_filter[0](profiles) if _photo_filter else profiles.none()


_gallery_provider: list[Callable[[User, Profile], list[dict[str, str]]]] = []


def register_gallery_provider(provider: Callable[[User, Profile], list[dict[str, str]]]) -> None:
    _gallery_provider[:] = [provider]


def gallery_for(*, viewer: User, profile: Profile) -> list[dict[str, str]]:
    """Every photo of the profile `viewer` may see, `{tiny_url, medium_url, status}` each."""
    return _gallery_provider[0](viewer, profile) if _gallery_provider else []


def profile_for_viewer(*, viewer: User, public_id: str) -> Profile | None:
    """The profile named by UUID or profile code, or None when it does not exist *or* the
    viewer may not see it (the API answers both with 404)."""
    owner = user_by_public_id(value=public_id)
    if owner is None:
        return None
    if _self_or_staff(viewer, owner):
        candidates = Profile.objects.all()
    else:
        candidates = visible_profiles(viewer=viewer)
    return (
        candidates.select_related(*WITH_SECTIONS)
        .annotate(hides_last_seen=hides_last_seen())
        .filter(user=owner)
        .first()
    )


def own_profile(*, user: User) -> Profile | None:
    return Profile.objects.select_related(*WITH_SECTIONS).filter(user=user).first()


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
# search and verification need them; the photo's 10 points arrive with the media app.
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
# Other apps report sections they own (the media app: "photo") without profiles importing them.
_section_checks: dict[str, Callable[[Profile], bool]] = {}


def register_completion_check(section: str, check: Callable[[Profile], bool]) -> None:
    _section_checks[section] = check


def _has_content(section: object | None) -> bool:
    """A section counts when something is filled in, not merely when its row exists."""
    if section is None:
        return False
    return any(
        getattr(section, f.attname) not in (None, "", [])
        for f in section._meta.concrete_fields
        if not f.primary_key and f.name != "updated_at"
    )


def completion(*, profile: Profile) -> dict[str, object]:
    """`{"score": 0..100, "sections": {name: done}, "next_step": hint or None}`."""
    done = {
        "basics": all(getattr(profile, f) not in (None, "") for f in BASIC_FIELDS),
        "about": len(profile.about.strip()) >= 50,
        "education": section_or_none(profile, "education") is not None,
        "career": section_or_none(profile, "career") is not None,
        "family": _has_content(section_or_none(profile, "family")),
        "preferences": section_or_none(profile, "preferences") is not None,
        "photo": bool(_section_checks.get("photo", lambda _p: False)(profile)),
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


# The dashboard gathers parts other apps own (recommendations, interests, chats,
# notifications); each registers its part. Until an app exists its part is empty, which is
# the truth: there is nothing of that kind yet.
_dashboard_parts: dict[str, Callable[[User], Any]] = {}
DASHBOARD_EMPTY: dict[str, Any] = {
    "recommendations": [],
    "interests": {"received_pending": 0, "sent_pending": 0, "accepted": 0},
    "recent_chats": [],
}


def register_dashboard_part(name: str, part: Callable[[User], Any]) -> None:
    _dashboard_parts[name] = part


def dashboard(*, viewer: User, profile: Profile) -> dict[str, Any]:
    from notifications.selectors import unread_count  # everyone may call notifications

    parts = {
        name: _dashboard_parts[name](viewer) if name in _dashboard_parts else copy.deepcopy(empty)
        for name, empty in DASHBOARD_EMPTY.items()
    }
    parts["unread_notifications"] = unread_count(viewer=viewer)
    return {"profile": profile, **parts}


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
