from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from moderation.models import Block, Report, ReportStatus

# A member in the block and review facts: an id (or a user), an expression naming one
# (`OuterRef("user_id")` from a query over profiles), or a collection of ids (every member
# among them); None for anyone.
Member = Any


def _side(field: str, member: Member) -> Q:
    if member is None:
        return Q()
    if isinstance(member, set | frozenset | list | tuple):
        return Q(**{f"{field}__in": member})
    return Q(**{field: member})


def blocks(blocker: Member, blocked: Member) -> QuerySet[Block]:
    """The one definition of a block: those `blocker` made against `blocked`. The visibility
    rule (policy.visibility) asks it both ways, for one viewer (with `OuterRef`) and for many
    pairs (with the pairs' members on both sides)."""
    return Block.objects.filter(_side("blocker", blocker) & _side("blocked", blocked))


def blockers_of(*, member: User) -> QuerySet[Any]:
    """The ids of the members who block `member` (a subquery)."""
    return blocks(None, member).values("blocker")


def held_for_review(member: Member) -> QuerySet[Report]:
    """The reports that hold `member` out of sight: flagged (several reporters) and pending."""
    return Report.objects.filter(
        _side("reported", member), status=ReportStatus.PENDING, flagged=True
    )


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
