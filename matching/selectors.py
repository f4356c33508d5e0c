from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from aurum.statements import Statements, padded
from matching.models import Interest, InterestStatus

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
    """Those of `owner_ids` with an accepted interest with `viewer`, in one query: what opens
    contact details and photos kept to accepted interests (policy.contact)."""
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


def interest_by_id(*, value: str) -> Interest | None:
    try:
        return (
            Interest.objects.select_related("sender", "receiver")
            .filter(pk=uuid.UUID(value))
            .first()
        )
    except ValueError:
        return None
