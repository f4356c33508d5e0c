"""Who may see whom: the visibility rule, written once and asked in two forms.

For one viewer, `visible_profiles` filters profiles with it; for many pairs of members at once
(chat's send batch, calls), `visible_pairs` runs the same parts over the pairs' members. Its
parts are other apps' facts: the profile row (`profiles.models.LISTED`), the account
(`is_active`), the review holds and the blocks (`moderation.selectors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from aurum.permissions import has_staff_powers
from aurum.statements import Statements, padded
from moderation.selectors import blocks, held_for_review
from profiles.models import LISTED, Profile

# The member of the profile row a condition is asked of, from inside its subqueries.
OWNER = OuterRef("user_id")


def listed() -> Q:
    """A profile row whose member others may see at all: approved and not hidden (`LISTED`,
    the search indexes are partial on exactly that), the account active. The few inactive
    accounts are left out by a small anti-join, so no row is joined to its account (approval
    is the profile's verification, written with the account's `admin_approved`)."""
    return LISTED & ~Q(user_id__in=User.objects.filter(is_active=False).values("pk"))


def listed_members() -> QuerySet[Any]:
    """The ids of every member others may see (`listed`): who may be told about others."""
    return Profile.objects.filter(listed()).values("pk")


def shown() -> Q:
    """A listed profile row whose member no review holds out of sight: the half of the rule
    that is about the member alone."""
    return listed() & ~Exists(held_for_review(OWNER))


def not_blocked(viewer: Any) -> Q:
    """A profile row whose member and `viewer` (an id) block each other neither way."""
    return ~Exists(blocks(viewer, OWNER)) & ~Exists(blocks(OWNER, viewer))


def visible_profiles(*, viewer: User) -> QuerySet[Profile]:
    """Profiles of other members that `viewer` may see: both active, the other approved, not
    hidden and not held for review, neither blocking the other. The viewer's own profile is
    not among them."""
    if not viewer.is_authenticated or not viewer.is_active:
        return Profile.objects.none()
    # One condition, one filter() call: every extra call would copy the whole query again.
    return Profile.objects.filter(shown() & ~Q(user=viewer) & not_blocked(viewer.pk))


# Chat asks the pair form on every batch of sends: its statements are compiled once per shape
# (aurum.statements), not once a batch.
PAIR_STATEMENTS = Statements("visibility pairs")


def _shown_among(values: Mapping[str, Any]) -> QuerySet[Any]:
    return Profile.objects.filter(shown(), user_id__in=values["members"]).values("user_id")


def _blocks_among(values: Mapping[str, Any]) -> QuerySet[Any]:
    members = values["members"]
    return blocks(members, members).values("blocker_id", "blocked_id")


def visible_pairs(pairs: set[tuple[Any, Any]]) -> set[frozenset[Any]]:
    """The pairs of member ids whose members each see the other (`visible_profiles` both
    ways), for many pairs at once: the same parts, asked of the pairs' members in two
    statements (those `shown`, and the blocks among them either way)."""
    members = padded({member for pair in pairs for member in pair})
    if not members:
        return set()
    seen = {
        row["user_id"] for row in PAIR_STATEMENTS.rows("shown", {"members": members}, _shown_among)
    }
    kept = {frozenset((a, b)) for a, b in pairs if a != b and a in seen and b in seen}
    if kept:
        found = PAIR_STATEMENTS.rows("blocks", {"members": members}, _blocks_among)
        kept -= {frozenset((row["blocker_id"], row["blocked_id"])) for row in found}
    return kept


def _listed_among(values: Mapping[str, Any]) -> QuerySet[Any]:
    return Profile.objects.filter(listed(), user_id__in=values["members"]).values("user_id")


def listed_among(member_ids: set[Any]) -> set[Any]:
    """Those of `member_ids` whom other members may see at all (`listed`): a member held for
    review is among them (they may still act; others do not see them)."""
    if not member_ids:
        return set()
    found = PAIR_STATEMENTS.rows("listed", {"members": padded(member_ids)}, _listed_among)
    return {row["user_id"] for row in found}


def can_act(*, member: User) -> bool:
    """Only a member others may see acts on others (interests, shortlists, chat, calls):
    otherwise the other member would hear, by name, of someone she gets a 404 for. Blocking,
    reporting and answering "no" stay open to everyone."""
    return bool(member.is_authenticated) and member.pk in listed_among({member.pk})


def self_or_staff(viewer: User, owner: User) -> bool:
    return viewer.pk == owner.pk or has_staff_powers(viewer)


def can_see(*, viewer: User, owner: User) -> bool:
    if self_or_staff(viewer, owner):
        return True
    return visible_profiles(viewer=viewer).filter(user_id=owner.pk).exists()
