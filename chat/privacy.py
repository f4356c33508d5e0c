"""What chat holds on a member, for `accounts.privacy`. Conversations, the messages sent in
them and calls are also the other member's: they stay when a member deletes their account,
shown as from a deleted member."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import User
from chat.models import Call, ChatSettings, Connection, Conversation, Message, Participant
from chat.selectors import other_member_id
from notifications.services import notifications_forget


def export(user: User) -> dict[str, Any]:
    participations = Participant.objects.filter(user=user).select_related("conversation")
    return {
        "conversations": [
            {
                "id": p.conversation.pk,
                "other_user_id": other_member_id(p.conversation, user.pk),
                "created_at": p.conversation.created_at,
                "last_read_id": p.last_read_id,
            }
            for p in participations.order_by("conversation__created_at")
        ],
        "messages_sent": list(
            Message.objects.filter(sender=user)
            .order_by("id")
            .values(
                "id",
                "conversation_id",
                "client_id",
                "body",
                "created_at",
                "edited_at",
                "deleted_at",
            )
        ),
        "calls": list(
            Call.objects.filter(Q(caller=user) | Q(callee=user))
            .order_by("created_at")
            .values(
                "id",
                "caller_id",
                "callee_id",
                "media",
                "status",
                "end_reason",
                "created_at",
                "answered_at",
                "ended_at",
            )
        ),
        "settings": ChatSettings.objects.filter(user=user)
        .values("read_receipts", "show_last_seen", "last_seen_at")
        .first(),
    }


def erase(user: User) -> None:
    conversations = {
        c.pk: other_member_id(c, user.pk)
        for c in Conversation.objects.filter(Q(member_low=user.pk) | Q(member_high=user.pk))
    }
    calls = Call.objects.filter(Q(caller=user) | Q(callee=user))
    call_members = list(calls.values_list("pk", "caller_id", "callee_id"))
    # The other member's notifications name this one ("New message from Anjali").
    notifications_forget(key="conversation", values=[str(pk) for pk in conversations])
    notifications_forget(key="call", values=[str(pk) for pk, _, _ in call_members])
    ChatSettings.objects.filter(user=user).delete()
    Connection.objects.filter(user=user).delete()
    Participant.objects.filter(user=user).delete()
    # What was kept for the other member goes once they are gone too: no one is left to
    # read it.
    others = set(conversations.values()) | {
        pk for _, caller, callee in call_members for pk in (caller, callee)
    }
    gone = set(
        User.objects.filter(pk__in=others, deleted_at__isnull=False).values_list("pk", flat=True)
    )
    Conversation.objects.filter(
        pk__in=[pk for pk, other in conversations.items() if other in gone]
    ).delete()
    calls.filter(Q(caller_id__in=gone) | Q(callee_id__in=gone)).delete()
