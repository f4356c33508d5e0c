"""Chat's reads: which conversations a member sees, their lists and pages, and the one shape
of a message. `chat.services` asks these; nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from aurum.pagination import Keyset, KeysetPage
from chat.models import (
    Call,
    ChatSettings,
    Connection,
    ConnectionKind,
    Conversation,
    Message,
    Participant,
)
from chat.shapes import message_data
from moderation import selectors as moderation_selectors

CONVERSATIONS = Keyset(("-activity", "-id"), ("moment", "int"), "conversations")


def other_of(low: Any, high: Any, user_id: Any) -> Any:
    """The other of a conversation's two members (`member_low`, `member_high`)."""
    return high if low == user_id else low


def other_member_id(conversation: Conversation, user_id: Any) -> Any:
    return other_of(conversation.member_low, conversation.member_high, user_id)


def _not_blocked_by_the_other(viewer: User, path: str = "") -> Q:
    """Leaves out the conversations whose other member blocks `viewer` (no member blocks
    themself, so either column may be asked). `path` leads to the conversation."""
    blockers = moderation_selectors.blockers_of(member=viewer)
    return ~Q(**{f"{path}member_low__in": blockers}) & ~Q(**{f"{path}member_high__in": blockers})


def conversations_of(*, viewer: User) -> QuerySet[Conversation]:
    """The conversations `viewer` sees: theirs, unless the other member blocks them. A block
    takes the conversation from the member blocked (gone, as if it never was) and leaves it
    to the blocker, read-only (the send rule refuses them), as evidence for a report; an
    unblock gives it back to both. History, receipts, typing and edits ask this; the list
    and the dashboard (`_participations`) the same rule."""
    mine = Q(member_low=viewer.pk) | Q(member_high=viewer.pk)
    return Conversation.objects.filter(mine & _not_blocked_by_the_other(viewer))


def _participations(user: User) -> QuerySet[Participant]:
    mine = Message.objects.filter(conversation=OuterRef("conversation"))
    unread = (
        mine.filter(id__gt=OuterRef("last_read_id"), deleted_at__isnull=True)
        .exclude(sender=user)
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    latest = mine.order_by("-id")
    # The other member's first name in the same statement (a query fewer per page).
    other = Case(
        When(conversation__member_low=user.pk, then=F("conversation__member_high")),
        default=F("conversation__member_low"),
    )
    return (
        Participant.objects.filter(Q(user=user) & _not_blocked_by_the_other(user, "conversation__"))
        .select_related("conversation")
        .alias(other=other)
        .annotate(
            unread_count=Coalesce(Subquery(unread, output_field=IntegerField()), 0),
            last_id=Subquery(latest.values("id")[:1]),
            activity=Coalesce(
                Subquery(latest.values("created_at")[:1]), F("conversation__created_at")
            ),
            other_name=Subquery(User.objects.filter(pk=OuterRef("other")).values("first_name")),
        )
    )


def conversations_page(
    *, user: User, cursor: str | None, size: int
) -> tuple[list[dict[str, Any]], KeysetPage]:
    """My conversations, the latest activity first, each with its last message and how many
    of the other member's messages I have not read: two queries a page."""
    page = CONVERSATIONS.page(_participations(user), cursor=cursor, size=size)
    return conversation_rows(user, page.rows), page


def conversation_rows(user: User, participations: list[Participant]) -> list[dict[str, Any]]:
    others = {p.pk: other_member_id(p.conversation, user.pk) for p in participations}
    last = Message.objects.in_bulk([p.last_id for p in participations if p.last_id])
    return [
        {
            "id": p.conversation.pk,
            "other_user_id": others[p.pk],
            "other_name": p.other_name or "",  # type: ignore[attr-defined]
            "last_message": message_data(last[p.last_id]) if p.last_id in last else None,
            "unread_count": p.unread_count,
            "last_read_id": p.last_read_id,
            "updated_at": p.activity,
        }
        for p in participations
    ]


def messages_page(
    *, conversation_id: Any, after: int | None, before: int | None, limit: int
) -> tuple[list[Message], bool]:
    """Messages after `after` (oldest first, to catch up), before `before`, or the latest;
    always returned oldest first. Uses the (conversation, id) index either way."""
    messages = Message.objects.filter(conversation_id=conversation_id)
    if after is not None:
        found = list(messages.filter(id__gt=after).order_by("id")[: limit + 1])
        return found[:limit], len(found) > limit
    if before is not None:
        messages = messages.filter(id__lt=before)
    found = list(messages.order_by("-id")[: limit + 1])
    more = len(found) > limit
    return list(reversed(found[:limit])), more


def hides_last_seen() -> Exists:
    """True for a profile row whose member turned "show last seen" off (policy.cards asks
    it); their cards and profiles then show others no last activity at all. A lookup by
    primary key per row: `IN (all who hide it)` reads the whole settings table for every
    page (a search page's statement went from 2.4 to 10.7 ms at 100,000 members)."""
    return Exists(ChatSettings.objects.filter(user_id=OuterRef("user_id"), show_last_seen=False))


# Presence and calls


def fresh_since() -> Any:
    return timezone.now() - timedelta(seconds=settings.CHAT_PRESENCE_STALE)


def live_connections(user_ids: Iterable[Any], since: Any = None) -> QuerySet[Connection]:
    """The live chat connections of `user_ids` (refreshed since `since`, by default lately:
    see `Connection`)."""
    return Connection.objects.filter(
        user_id__in=user_ids, kind=ConnectionKind.CHAT, seen_at__gte=since or fresh_since()
    )


def online_among(user_ids: set[Any]) -> set[Any]:
    """Those of `user_ids` with a live connection."""
    return set(live_connections(user_ids).values_list("user_id", flat=True).distinct())


def is_online(user_id: Any) -> bool:
    return bool(online_among({user_id}))


def presences_of(user_ids: list[Any]) -> list[dict[str, Any]]:
    """What a contact may know of these members' presence, in two queries; members who hide
    it are left out."""
    found = {s.pk: s for s in ChatSettings.objects.filter(user_id__in=user_ids)}
    online = online_among(set(user_ids))
    frames = []
    for user_id in user_ids:
        mine = found.get(user_id)
        if mine is not None and not mine.show_last_seen:
            continue
        last_seen = None if user_id in online or mine is None else mine.last_seen_at
        frames.append(
            {
                "type": "presence",
                "user_id": str(user_id),
                "online": user_id in online,
                "last_seen": last_seen.isoformat() if last_seen else None,
            }
        )
    return frames


def calls_of(*, user: User) -> Any:
    return Call.objects.filter(Q(caller=user) | Q(callee=user)).order_by("-created_at", "-pk")
