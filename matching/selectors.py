from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from aurum.statements import Statements, padded
from matching.models import Interest, InterestStatus, ProfileVisit, Shortlist
from profiles.selectors import visible_profiles

# What a card needs beside the user, so a list of cards costs no query per card for them.
CARD_RELATIONS = ("", "__profile", "__profile__career", "__profile__education")


def pair_key(a: object, b: object) -> tuple[object, object]:
    low, high = sorted([a, b], key=str)
    return low, high


def interest_between(a: User, b: User) -> Interest | None:
    """What is between these two members: the one place other apps ask."""
    low, high = pair_key(a.pk, b.pk)
    return Interest.objects.filter(member_low=low, member_high=high).first()


def accepted_among(viewer: User, owner_ids: list[Any]) -> set[Any]:
    """Registered with profiles as the contact (and photo) grant: those of `owner_ids` with
    an accepted interest with `viewer`, in one query."""
    rows = Interest.objects.filter(
        Q(sender=viewer, receiver_id__in=owner_ids) | Q(receiver=viewer, sender_id__in=owner_ids),
        status=InterestStatus.ACCEPTED,
    ).values_list("sender_id", "receiver_id")
    return {receiver if sender == viewer.pk else sender for sender, receiver in rows}


def accepted_pairs(pairs: set[tuple[Any, Any]]) -> set[frozenset[Any]]:
    """Which of these pairs of member ids have an accepted interest, in one query."""
    if not pairs:
        return set()
    ordered = {pair_key(a, b) for a, b in pairs}
    values = {
        "lows": padded({low for low, _ in ordered}),
        "highs": padded({high for _, high in ordered}),
    }
    rows = PAIR_STATEMENTS.rows("accepted", values, _accepted_among_pairs)
    found = ((row["member_low"], row["member_high"]) for row in rows)
    return {frozenset(pair) for pair in found if pair in ordered}


# Chat asks `accepted_pairs` on every batch of sends: its statement is compiled once per
# shape (aurum.statements), not once a batch.
PAIR_STATEMENTS = Statements("matching pairs")


def _accepted_among_pairs(values: Mapping[str, Any]) -> QuerySet[Any]:
    return Interest.objects.filter(
        member_low__in=values["lows"],
        member_high__in=values["highs"],
        status=InterestStatus.ACCEPTED,
    ).values("member_low", "member_high")


def contacts_of(user: User) -> list[Any]:
    """The ids of the members with an accepted interest with `user` (chat presence)."""
    rows = Interest.objects.filter(
        Q(sender=user) | Q(receiver=user), status=InterestStatus.ACCEPTED
    ).values_list("sender_id", "receiver_id")
    return [receiver if sender == user.pk else sender for sender, receiver in rows]


def interests_of(*, viewer: User, direction: str, status: str | None) -> QuerySet[Interest]:
    """My interests, received or sent; as with the shortlist, those with members I may no
    longer see (blocked either way, hidden, suspended) are left out."""
    visible = visible_profiles(viewer=viewer).values("pk")
    if direction == "received":
        side = Q(receiver=viewer, sender_id__in=visible)
    else:
        side = Q(sender=viewer, receiver_id__in=visible)
    interests = Interest.objects.filter(side).select_related(
        *(f"{who}{part}" for who in ("sender", "receiver") for part in CARD_RELATIONS)
    )
    if status:
        interests = interests.filter(status=status)
    return interests


def interest_by_id(*, value: str) -> Interest | None:
    try:
        return (
            Interest.objects.select_related("sender", "receiver")
            .filter(pk=uuid.UUID(value))
            .first()
        )
    except ValueError:
        return None


def shortlist_of(*, viewer: User) -> QuerySet[Shortlist]:
    """My shortlist, members I may no longer see (blocked, hidden, suspended) left out."""
    return Shortlist.objects.filter(
        owner=viewer, target_id__in=visible_profiles(viewer=viewer).values("pk")
    ).select_related(*(f"target{part}" for part in CARD_RELATIONS))


def interest_counts(viewer: User) -> dict[str, int]:
    """The dashboard's interest numbers, in one query: the interests the lists show (with
    members the viewer may still see)."""
    visible = visible_profiles(viewer=viewer).values("pk")
    counts = Interest.objects.filter(
        Q(sender=viewer, receiver_id__in=visible) | Q(receiver=viewer, sender_id__in=visible)
    ).aggregate(
        received_pending=Count("pk", filter=Q(receiver=viewer, status=InterestStatus.PENDING)),
        sent_pending=Count("pk", filter=Q(sender=viewer, status=InterestStatus.PENDING)),
        accepted=Count("pk", filter=Q(status=InterestStatus.ACCEPTED)),
    )
    return {name: value or 0 for name, value in counts.items()}


def visitors_of(*, viewer: User) -> QuerySet[ProfileVisit]:
    """Who opened my profile, latest first; only members I may see myself."""
    return ProfileVisit.objects.filter(
        owner=viewer, viewer_id__in=visible_profiles(viewer=viewer).values("pk")
    ).select_related(*(f"viewer{part}" for part in CARD_RELATIONS))


RECOMMENDATIONS_ON_DASHBOARD = 6


def recommendations(viewer: User) -> list[dict[str, Any]]:
    """The dashboard's part: the top of the feed's first page (the same cached page)."""
    from aurum.errors import DomainError
    from matching.feed import feed_page

    try:
        page = feed_page(viewer=viewer, cursor=None, size=20)
    except DomainError:  # no gender yet: nothing to recommend
        return []
    return page["results"][:RECOMMENDATIONS_ON_DASHBOARD]
