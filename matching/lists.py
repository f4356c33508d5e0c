"""The member's lists, as the visibility rule lets them see the members on them: interests
received and sent, the shortlist, visitors, and the dashboard's parts (interest numbers and
recommendations). Reads, like `matching.selectors`, but over the rule in `policy`, which
matching's facts do not import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, When

import policy
from accounts.models import User
from aurum.errors import Conflict
from aurum.statements import Statements
from matching.feed import feed_page
from matching.models import Interest, InterestStatus, ProfileVisit, Shortlist
from matching.selectors import CARD_RELATIONS


def interests_of(*, viewer: User, direction: str, status: str | None) -> QuerySet[Interest]:
    """My interests, received or sent; as with the shortlist, those with members I may no
    longer see (blocked either way, hidden, suspended) are left out."""
    visible = policy.visible_profiles(viewer=viewer).values("pk")
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


def shortlist_of(*, viewer: User) -> QuerySet[Shortlist]:
    """My shortlist, members I may no longer see (blocked, hidden, suspended) left out."""
    return Shortlist.objects.filter(
        owner=viewer, target_id__in=policy.visible_profiles(viewer=viewer).values("pk")
    ).select_related(*(f"target{part}" for part in CARD_RELATIONS))


# Compiled once (aurum.statements): building this over the visibility rule twice cost more in
# Python than PostgreSQL takes to run it.
COUNT_STATEMENTS = Statements("interest counts")
COUNTED = (InterestStatus.PENDING, InterestStatus.ACCEPTED)


def _counts(values: Mapping[str, Any]) -> QuerySet[Any]:
    viewer = User(pk=values["viewer"], is_active=True)
    visible = policy.visible_profiles(viewer=viewer)
    # EXISTS under an OR is asked per interest (an index probe each); IN under an OR is a
    # hashed subplan, for which PostgreSQL built the whole visible set (407 ms at 1M members).
    return (
        Interest.objects.alias(
            receiver_seen=Exists(visible.filter(pk=OuterRef("receiver_id"))),
            sender_seen=Exists(visible.filter(pk=OuterRef("sender_id"))),
        )
        .filter(
            Q(sender=viewer, receiver_seen=True) | Q(receiver=viewer, sender_seen=True),
            status__in=COUNTED,
        )
        .annotate(received=Case(When(receiver=viewer, then=True), default=False))
        .values("status", "received")
        .annotate(n=Count("pk"))
        .order_by()
    )


def interest_counts(viewer: User) -> dict[str, int]:
    """The dashboard's interest numbers, in one query: the interests the lists show (with
    members the viewer may still see)."""
    counts = {"received_pending": 0, "sent_pending": 0, "accepted": 0}
    if not viewer.is_active:
        return counts  # she sees no one (policy.visible_profiles)
    for row in COUNT_STATEMENTS.rows((), {"viewer": viewer.pk}, _counts):
        if row["status"] == InterestStatus.ACCEPTED:
            counts["accepted"] += row["n"]
        else:
            counts["received_pending" if row["received"] else "sent_pending"] += row["n"]
    return counts


def visitors_of(*, viewer: User) -> QuerySet[ProfileVisit]:
    """Who opened my profile, latest first; only members I may see myself."""
    return ProfileVisit.objects.filter(
        owner=viewer, viewer_id__in=policy.visible_profiles(viewer=viewer).values("pk")
    ).select_related(*(f"viewer{part}" for part in CARD_RELATIONS))


RECOMMENDATIONS_ON_DASHBOARD = 6


def recommendations(viewer: User) -> list[dict[str, Any]]:
    """The dashboard's part: the top of the feed's first page (the same cached page)."""
    try:
        page = feed_page(viewer=viewer, cursor=None, size=20)
    except Conflict:  # no gender yet (profile_incomplete): nothing to recommend
        return []
    return page["results"][:RECOMMENDATIONS_ON_DASHBOARD]
