from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from aurum.statements import Statements, padded
from moderation.models import Block, Report, ReportStatus


def is_blocked(a: User, b: User) -> bool:
    """True when either member blocks the other."""
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def blockers_of(*, member: User) -> QuerySet[Any]:
    """The ids of the members who block `member` (a subquery)."""
    return Block.objects.filter(blocked=member).values("blocker")


def blocked_pairs(pairs: set[tuple[Any, Any]]) -> set[frozenset[Any]]:
    """Which of these pairs of member ids have a block either way, in one query."""
    if not pairs:
        return set()
    wanted = {frozenset(pair) for pair in pairs}
    members = padded({member for pair in pairs for member in pair})
    rows = PAIR_STATEMENTS.rows("blocks", {"members": members}, _blocks_among)
    return {frozenset((row["blocker_id"], row["blocked_id"])) for row in rows} & wanted


# Chat asks the pair forms on every batch of sends: their statements are compiled once per
# shape (aurum.statements), not once a batch.
PAIR_STATEMENTS = Statements("moderation pairs")


def _blocks_among(values: Mapping[str, Any]) -> QuerySet[Any]:
    members = values["members"]
    return Block.objects.filter(blocker_id__in=members, blocked_id__in=members).values(
        "blocker_id", "blocked_id"
    )


def _held_among(values: Mapping[str, Any]) -> QuerySet[Any]:
    return _held_for_review().filter(reported_id__in=values["members"]).values("reported_id")


def _held_for_review() -> QuerySet[Report]:
    """Reports that hold their member out of sight: flagged (several reporters) and pending."""
    return Report.objects.filter(status=ReportStatus.PENDING, flagged=True)


def hidden_from(viewer: User) -> Q:
    """Profiles `viewer` must not see: blocked either way, or held for review after several
    reports. Registered with the visibility rule in profiles (moderation/apps.py)."""
    return (
        Q(user_id__in=Block.objects.filter(blocker=viewer).values("blocked"))
        | Q(user_id__in=blockers_of(member=viewer))
        | Q(user_id__in=_held_for_review().values("reported"))
    )


def hidden_pairs(pairs: set[tuple[Any, Any]]) -> set[frozenset[Any]]:
    """`hidden_from` for many pairs at once: those with a block either way, or a member held
    for review. Registered with it (moderation/apps.py)."""
    if not pairs:
        return set()
    members = padded({member for pair in pairs for member in pair})
    held = {
        row["reported_id"]
        for row in PAIR_STATEMENTS.rows("held", {"members": members}, _held_among)
    }
    return blocked_pairs(pairs) | {frozenset(pair) for pair in pairs if held.intersection(pair)}


def blocks_of(*, viewer: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=viewer).select_related("blocked")


def report_queue(*, status: str | None = ReportStatus.PENDING) -> QuerySet[Report]:
    """Flagged members first (several reporters), then oldest first."""
    reports = Report.objects.select_related("reporter", "reported", "resolved_by")
    if status:
        reports = reports.filter(status=status)
    return reports.order_by("-flagged", "created_at", "pk")


def reports_about(*, member: User) -> QuerySet[Report]:
    return Report.objects.filter(reported=member).select_related("reporter").order_by("-created_at")


def report_by_id(*, value: str) -> Report | None:
    try:
        return Report.objects.filter(pk=uuid.UUID(str(value))).first()
    except ValueError:
        return None
