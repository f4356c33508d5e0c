"""What moderation holds on a member, for `accounts.privacy`. Reports stay when a member
deletes their account (moderators' records; the account they name is anonymous by then);
reports about the member are left out of the export, to protect who filed them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import User
from moderation.models import Block, Report


def export(user: User) -> dict[str, Any]:
    return {
        "blocked": list(
            Block.objects.filter(blocker=user)
            .order_by("created_at")
            .values("blocked_id", "created_at")
        ),
        "reports_filed": list(
            Report.objects.filter(reporter=user)
            .order_by("created_at")
            .values("id", "reported_id", "reason", "details", "status", "created_at")
        ),
    }


def erase(user: User) -> None:
    Block.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()
