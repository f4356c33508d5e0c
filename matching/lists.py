"""The member's lists, as the visibility rule lets them see the members on them: interests
received and sent, the shortlist, visitors, and the dashboard's parts (interest numbers and
recommendations). Reads, like `matching.selectors`, but over the rule in `policy`, which
matching's facts do not import."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

import policy
from accounts.models import User
from aurum.errors import Conflict
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


def interest_counts(viewer: User) -> dict[str, int]:
    """The dashboard's interest numbers, in one query: the interests the lists show (with
    members the viewer may still see)."""
    visible = policy.visible_profiles(viewer=viewer).values("pk")
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
