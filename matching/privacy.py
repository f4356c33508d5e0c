"""What matching holds on a member, for `accounts.privacy`. Another member's list of who
shortlisted or ignored them is theirs, not this member's: export leaves it out, erasure
removes it with the rest."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import User
from matching.lists import visitors_of
from matching.models import Digest, Ignore, Interest, InterestSend, ProfileVisit, Shortlist
from notifications.services import notifications_forget


def export(user: User) -> dict[str, Any]:
    interests = Interest.objects.filter(Q(sender=user) | Q(receiver=user)).order_by("created_at")
    return {
        "interests": list(
            interests.values(
                "id", "sender_id", "receiver_id", "status", "message", "decided_at", "created_at"
            )
        ),
        # Each send (a re-send after a withdraw too): what the daily limit counted.
        "interest_sends": list(
            InterestSend.objects.filter(sender=user)
            .order_by("created_at")
            .values("receiver_id", "created_at")
        ),
        "shortlisted": list(
            Shortlist.objects.filter(owner=user)
            .order_by("created_at")
            .values("target_id", "created_at")
        ),
        "ignored": list(
            Ignore.objects.filter(owner=user)
            .order_by("created_at")
            .values("target_id", "created_at")
        ),
        "profiles_visited": list(
            ProfileVisit.objects.filter(viewer=user)
            .order_by("created_at")
            .values("owner_id", "day", "created_at")
        ),
        # As `GET visitors` shows them (members the viewer may not see are left out).
        "visitors": list(
            visitors_of(viewer=user).order_by("created_at").values("viewer_id", "day", "created_at")
        ),
    }


def erase(user: User) -> None:
    interests = Interest.objects.filter(Q(sender=user) | Q(receiver=user))
    notifications_forget(
        key="interest", values=[str(pk) for pk in interests.values_list("pk", flat=True)]
    )
    interests.delete()
    mentioning = Digest.objects.filter(named__contains=str(user.pk))
    notifications_forget(
        key="digest", values=[str(pk) for pk in mentioning.values_list("pk", flat=True)]
    )
    Digest.objects.filter(user=user).delete()
    InterestSend.objects.filter(Q(sender=user) | Q(receiver=user)).delete()
    Shortlist.objects.filter(Q(owner=user) | Q(target=user)).delete()
    Ignore.objects.filter(Q(owner=user) | Q(target=user)).delete()
    ProfileVisit.objects.filter(Q(viewer=user) | Q(owner=user)).delete()
