"""Messages: sends in batches (each stored once per client_id, in one transaction, devices
told after the commit), edits and deletions within the edit window, read marks and typing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_by_public_id
from aurum import events, metrics
from aurum.errors import Conflict, DomainError, Forbidden, RateLimited
from aurum.ratelimit import take, take_many
from aurum.statements import Statements, padded
from chat.models import (
    Conversation,
    Message,
    MessageRevision,
    Participant,
)
from chat.selectors import fresh_since, live_connections, other_member_id, other_of
from chat.services.conversations import conversation_key, conversation_of, conversation_open
from chat.services.presence import settings_of
from chat.services.reach import check_reach, not_found, pair_problem, pair_problems
from chat.shapes import message_data
from notifications.choices import Kind
from notifications.services import notify

EDIT_WINDOW = timedelta(minutes=15)


@dataclass
class SendRequest:
    """One message to send: to a conversation of the sender's, or to a member (opening their
    conversation when needed)."""

    sender: User
    body: str
    client_id: str
    conversation_id: Any = None
    recipient_id: str | None = None  # the member's id or profile code
    # The socket it came on, which acknowledges it itself; None over HTTP.
    channel_name: str | None = None


SendResult = tuple[Message, bool] | DomainError  # a refusal per request, raised by the caller


def message_send(
    *,
    sender: User,
    body: str,
    client_id: str,
    conversation_id: Any = None,
    recipient_id: str | None = None,
) -> tuple[Message, bool]:
    """One message (see `messages_send`): (message, created), or raises what refused it."""
    request = SendRequest(sender, body, client_id, conversation_id, recipient_id)
    result = messages_send([request])[0]
    if isinstance(result, Exception):
        raise result
    return result


def messages_send(requests: list[SendRequest]) -> list[SendResult]:
    """Store a batch of messages, each once per (sender, `client_id`), in one transaction, and
    tell both members' devices after the commit. Each request gets (message, created) or the
    error that refused it; a refused request never stops the others.

    A repeated `client_id` returns the first message, unchanged and without any check: it is
    already stored. Any other request is checked (`chat_problem`'s rules, the sender's rate
    limit). The batch holds its conversations' row locks, taken in one order, so message ids
    grow in commit order within a conversation. A server groups the sends that arrive while it
    writes the previous batch (`chat.consumers`): a few queries a batch, not a message.
    """
    results: list[SendResult | None] = [None] * len(requests)
    stored = _stored({(r.sender.pk, r.client_id) for r in requests})
    for index, request in enumerate(requests):
        first = stored.get((request.sender.pk, request.client_id))
        if first is not None:
            results[index] = (first, False)
    others = _resolve(requests, _pending(results), results)
    todo = _pending(results)
    problems = pair_problems({(requests[i].sender.pk, others[i]) for i in todo})
    for index in todo:
        results[index] = problems.get(frozenset((requests[index].sender.pk, others[index])))
    _rate_limit(requests, _pending(results), results)
    todo = _pending(results)
    if todo:
        try:
            _write(requests, todo, others, results)
        except IntegrityError:
            # The same client_id, stored a moment ago by another device of the sender's
            # (the unique constraint speaks): write each request on its own. Its checks and
            # its rate limit are already settled; only the one that clashed returns the first.
            for index in todo:
                try:
                    _write(requests, [index], others, results)
                except IntegrityError:
                    request = requests[index]
                    first = _stored({(request.sender.pk, request.client_id)})
                    if not first:
                        raise
                    results[index] = (next(iter(first.values())), False)
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def _pending(results: list[SendResult | None]) -> list[int]:
    return [index for index, result in enumerate(results) if result is None]


def _stored(keys: set[tuple[Any, str]]) -> dict[tuple[Any, str], Message]:
    """The messages already stored under these (sender, client_id) keys, each found by the
    unique pair's index. (The ORM's `sender IN (..) AND client_id IN (..)` let PostgreSQL
    read every message the senders ever sent, a scan of the table on every batch; an OR of
    pairs took longer to compile and plan than to run.)"""
    if not keys:
        return {}
    sender = Message._meta.get_field("sender").target_field
    pairs = padded(keys)  # one statement text per power of two: psycopg parses it once
    params = [
        value
        for sender_id, client_id in pairs
        for value in (sender.get_db_prep_value(sender_id, connection), client_id)
    ]
    rows = ", ".join(["(%s, %s)"] * len(pairs))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Message._meta.db_table}"  # noqa: S608  (only placeholders go in)
            f" WHERE (sender_id, client_id) IN (VALUES {rows})",
            params,
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    # Nearly always none: a repeat is a device sending again after a lost ack.
    found = Message.objects.filter(pk__in=ids) if ids else ()
    return {(m.sender_id, m.client_id): m for m in found}


def _resolve(
    requests: list[SendRequest], todo: list[int], results: list[SendResult | None]
) -> dict[int, Any]:
    """Each request's other member; 404 for a conversation that is not the sender's."""
    wanted = {conversation_key(requests[i].conversation_id) for i in todo} - {None}
    found = BATCH_STATEMENTS.rows("members", {"ids": padded(wanted)}, _members_of) if wanted else []
    conversations = {row["pk"]: (row["member_low"], row["member_high"]) for row in found}
    others: dict[int, Any] = {}
    for index in todo:
        request = requests[index]
        if request.conversation_id is None:
            recipient = user_by_public_id(value=request.recipient_id or "")
            if recipient is None or recipient.pk == request.sender.pk:
                results[index] = not_found()
            else:
                others[index] = recipient.pk
            continue
        members = conversations.get(conversation_key(request.conversation_id), ())
        if request.sender.pk not in members:
            results[index] = not_found()
        else:
            others[index] = other_of(*members, request.sender.pk)
    return others


# A server asks these on every batch of sends: compiled once per shape (aurum.statements),
# not once a batch; `padded` lists make a batch of any size one of a few shapes.
BATCH_STATEMENTS = Statements("chat batch")


def _members_of(values: Mapping[str, Any]) -> QuerySet[Any]:
    return Conversation.objects.filter(pk__in=values["ids"]).values(
        "pk", "member_low", "member_high"
    )


def _locked(values: Mapping[str, Any]) -> QuerySet[Any]:
    return (
        Conversation.objects.select_for_update()
        .filter(pk__in=values["ids"])
        .order_by("pk")
        .values("pk")
    )


def _untold(values: Mapping[str, Any]) -> QuerySet[Any]:
    return Participant.objects.filter(
        conversation_id__in=values["conversations"], user_id__in=values["users"], notified=False
    ).values("pk", "conversation_id", "user_id")


def _channels_of(values: Mapping[str, Any]) -> QuerySet[Any]:
    return live_connections(values["users"], since=values["since"]).values(
        "user_id", "channel_name"
    )


def _rate_limit(
    requests: list[SendRequest], todo: list[int], results: list[SendResult | None]
) -> None:
    by_sender: dict[Any, list[int]] = {}
    for index in todo:
        by_sender.setdefault(requests[index].sender.pk, []).append(index)
    counts = {str(sender_id): len(indexes) for sender_id, indexes in by_sender.items()}
    allowed = take_many("chat_message", counts)
    for sender_id, indexes in by_sender.items():
        granted, retry_after = allowed[str(sender_id)]
        for index in indexes[granted:]:
            results[index] = RateLimited(retry_after=retry_after)


def _write(
    requests: list[SendRequest],
    todo: list[int],
    others: dict[int, Any],
    results: list[SendResult | None],
) -> None:
    conversation_of_request = {}
    for index in todo:
        request = requests[index]
        if request.conversation_id is None:
            conversation_of_request[index] = conversation_open(request.sender.pk, others[index]).pk
        else:
            conversation_of_request[index] = conversation_key(request.conversation_id)
    created: dict[tuple[Any, str], tuple[int, Message]] = {}
    with transaction.atomic():
        # Row locks on the conversations, in one order: another server's batch for the same
        # conversation commits wholly before or after this one, so ids follow commit order.
        BATCH_STATEMENTS.rows(
            "lock", {"ids": padded(set(conversation_of_request.values()))}, _locked
        )
        for index in todo:
            request = requests[index]
            key = (request.sender.pk, request.client_id)
            if key in created:  # the same client_id twice in this batch: the first one
                results[index] = (created[key][1], False)
            else:
                message = Message(
                    conversation_id=conversation_of_request[index],
                    sender=request.sender,
                    client_id=request.client_id,
                    body=request.body,
                )
                created[key] = (index, message)
                results[index] = (message, True)
        Message.objects.bulk_create([message for _, message in created.values()])
        live = _live_channels(
            {others[i] for i, _ in created.values()}
            | {requests[i].sender.pk for i, _ in created.values() if requests[i].channel_name}
        )
        _tell_away([(requests[i].sender, others[i], m) for i, m in created.values()], live)
    by_socket = sum(1 for index, _ in created.values() if requests[index].channel_name)
    if by_socket:
        metrics.CHAT_MESSAGES.labels("socket").inc(by_socket)
    if len(created) > by_socket:
        metrics.CHAT_MESSAGES.labels("http").inc(len(created) - by_socket)
    for index, message in created.values():
        events.send_to_user(
            others[index], {"type": "message.new", "message": message_data(message)}
        )
        _ack_devices(requests[index], message, live)


def _ack_devices(request: SendRequest, message: Message, live: dict[Any, list[str]]) -> None:
    """The sender's devices hear of their message: all of them after an HTTP send; after a
    WebSocket send the others, each on its own channel (the sending socket acknowledges it
    itself, sparing a round trip through Redis on every message)."""
    if request.channel_name is None:
        events.send_to_user(message.sender_id, ack_frame(message))
        return
    for channel_name in live.get(message.sender_id, ()):
        if channel_name != request.channel_name:
            events.send_to_channel(channel_name, ack_frame(message))


def ack_frame(message: Message) -> dict[str, Any]:
    """`message.ack`: to all the sender's devices for a new message, to the sending device
    alone for a repeat."""
    return {"type": "message.ack", "client_id": message.client_id, "message": message_data(message)}


def _tell_away(sent: list[tuple[User, Any, Message]], live: dict[Any, list[str]]) -> None:
    """A member with no live connection (none in `live`) is told once per conversation until
    they read it."""
    away = {
        (message.conversation_id, recipient): sender
        for sender, recipient, message in sent
        if recipient not in live
    }
    if not away:
        return
    values = {
        "conversations": padded({conversation_id for conversation_id, _ in away}),
        "users": padded({recipient for _, recipient in away}),
    }
    untold = [
        (row["pk"], row["conversation_id"], row["user_id"])
        for row in BATCH_STATEMENTS.rows("untold", values, _untold)
        if (row["conversation_id"], row["user_id"]) in away
    ]
    Participant.objects.filter(pk__in=[pk for pk, _, _ in untold]).update(notified=True)
    members = User.objects.in_bulk({recipient for _, _, recipient in untold})
    for _, conversation_id, recipient in untold:
        notify(
            recipient=members[recipient],
            kind=Kind.MESSAGE_RECEIVED,
            title=f"New message from {away[(conversation_id, recipient)].first_name}",
            data={"conversation": str(conversation_id)},
        )


def _own_message(user: User, conversation_id: Any, message_id: Any) -> Message:
    """`user`'s message, locked, while they may still change it: within the edit window, and
    while the two may talk (a changed message is news to the other member; a block leaves
    the blocker's copy read-only)."""
    conversation = conversation_of(user=user, conversation_id=conversation_id)
    message = (
        Message.objects.select_for_update()
        .filter(conversation=conversation, pk=message_id, deleted_at__isnull=True)
        .first()
    )
    if message is None:
        raise not_found()
    if message.sender_id != user.pk:
        raise Forbidden("Only the sender can change a message.", "not_sender")
    if timezone.now() - message.created_at > EDIT_WINDOW:
        raise Conflict("Messages can be changed for 15 minutes.", "edit_window_closed")
    check_reach(user.pk, other_member_id(conversation, user.pk))
    return message


def _changed(message: Message, action: str) -> None:
    conversation = message.conversation
    data = message_data(message)
    for member in (conversation.member_low, conversation.member_high):
        events.send_to_user(member, {"type": f"message.{action}", "message": data})


def message_edit(*, user: User, conversation_id: Any, message_id: Any, body: str) -> Message:
    with transaction.atomic():
        message = _own_message(user, conversation_id, message_id)
        MessageRevision.objects.create(message=message, body=message.body, action="edit")
        message.body, message.edited_at = body, timezone.now()
        message.save(update_fields=["body", "edited_at"])
        _changed(message, "edited")
    return message


def message_delete(*, user: User, conversation_id: Any, message_id: Any) -> Message:
    """The text disappears for both members; moderators keep it as a revision."""
    with transaction.atomic():
        message = _own_message(user, conversation_id, message_id)
        MessageRevision.objects.create(message=message, body=message.body, action="delete")
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at"])
        _changed(message, "deleted")
    return message


def messages_read(*, user: User, conversation_id: Any, up_to_id: int) -> int:
    """Move my read mark forward (never back) to `up_to_id`, capped at the conversation's
    last message; tell the other member when my receipts are on. Returns the mark. Counted
    against the member's `chat_read` limit first, before any database work."""
    take("chat_read", str(user.pk))
    conversation = conversation_of(user=user, conversation_id=conversation_id)
    newest = conversation.messages.aggregate(newest=Max("id"))["newest"] or 0
    mark = min(up_to_id, newest)
    moved = Participant.objects.filter(
        conversation=conversation, user=user, last_read_id__lt=mark
    ).update(last_read_id=mark, notified=False)
    if not moved:  # already read that far: nothing to tell
        return (
            Participant.objects.filter(conversation=conversation, user=user)
            .values_list("last_read_id", flat=True)
            .get()
        )
    other_id = other_member_id(conversation, user.pk)
    if settings_of(user).read_receipts and pair_problem(user.pk, other_id) is None:
        events.send_to_user(
            other_id,
            {
                "type": "read",
                "conversation_id": str(conversation.pk),
                "user_id": str(user.pk),
                "up_to_id": mark,
            },
        )
    return mark


def typing(*, user: User, conversation_id: Any) -> None:
    """Never stored: only the other member's devices hear it, at once. Counted against the
    member's `chat_typing` limit first, before any database work."""
    take("chat_typing", str(user.pk))
    conversation = conversation_of(user=user, conversation_id=conversation_id)
    other_id = other_member_id(conversation, user.pk)
    problem = pair_problem(user.pk, other_id)
    if problem is not None:
        raise problem
    events.send_to_user(
        other_id,
        {"type": "typing", "conversation_id": str(conversation.pk), "user_id": str(user.pk)},
    )


def _live_channels(user_ids: set[Any]) -> dict[Any, list[str]]:
    """The channels of each of `user_ids`' live connections; members with none are absent."""
    live: dict[Any, list[str]] = {}
    if not user_ids:
        return live
    values = {"users": padded(user_ids), "since": fresh_since()}
    for row in BATCH_STATEMENTS.rows("channels", values, _channels_of):
        live.setdefault(row["user_id"], []).append(row["channel_name"])
    return live
