"""Chat and calls: the one service HTTP views and WebSocket consumers both go through.

Every send asks `_problems` (the visibility rule both ways, and an accepted interest), then
writes in one transaction; devices hear of it only after the commit (`aurum.events`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_by_public_id
from aurum import events
from aurum.errors import ApiError, RateLimited
from aurum.ratelimit import take, take_many
from aurum.statements import Statements, padded
from chat.models import (
    LIVE_CALL,
    Call,
    CallStatus,
    ChatSettings,
    Connection,
    ConnectionKind,
    Conversation,
    Message,
    MessageRevision,
    Participant,
)
from chat.selectors import conversations_of, message_data, other_member_id, other_of
from matching import selectors as matching_selectors
from notifications.models import Kind
from notifications.services import notify
from profiles import selectors as profile_selectors
from profiles import services as profile_services

EDIT_WINDOW = timedelta(minutes=15)


def calls_group(user_id: Any) -> str:
    return f"calls.{user_id}"


def _not_found() -> ApiError:
    return ApiError("Not found.", "not_found", 404)


def _problems(pairs: set[tuple[Any, Any]]) -> dict[frozenset[Any], ApiError]:
    """Why the members of each pair may not talk (chat or call), for the pairs that may not:
    each must see the other (the visibility rule: both active, approved, not hidden, not held
    for review, no block either way; 403 `profile_not_visible` when the first of the pair, the
    one acting, is out of sight) and an interest between them must be accepted. Every send
    and call asks this, in a few queries however many pairs; accounts and blocks are read
    afresh (a socket's user was loaded when it connected).

    A member out of sight answers exactly as one who does not exist (404 `not_found`), as
    profiles, interests and reports do: no answer tells a block from a hidden or closed
    account. Only "no accepted interest" is said, and only of a member the sender sees."""
    visible = profile_selectors.visible_pairs(pairs)
    connected = matching_selectors.accepted_pairs(pairs)
    apart = {(a, b) for a, b in pairs if frozenset((a, b)) not in visible}
    # The first of a pair is the one acting: when it is they who are out of sight, say so
    # (their own state; not when the batch has the pair both ways: the answer is keyed by pair).
    actors = {a for a, b in apart if (b, a) not in pairs}
    unlisted = actors - profile_selectors.listed_among(actors) if actors else set()
    problems: dict[frozenset[Any], ApiError] = {}
    for a, b in pairs:
        key = frozenset((a, b))
        if a in unlisted and (b, a) not in pairs:
            problems[key] = profile_services.not_visible("chat or call")
        elif key not in visible:
            problems[key] = _not_found()
        elif key not in connected:
            problems[key] = ApiError(
                "You can talk once an interest between you is accepted.", "not_connected", 403
            )
    return problems


def chat_problem(a: User, b: User) -> ApiError | None:
    """Why `a` may not talk to `b` (chat or call), or None when they may."""
    return _problem(a.pk, b.pk)


def _problem(a_id: Any, b_id: Any) -> ApiError | None:
    return _problems({(a_id, b_id)}).get(frozenset((a_id, b_id)))


def _check(a_id: Any, b_id: Any) -> None:
    problem = _problem(a_id, b_id)
    if problem is not None:
        raise problem


# Conversations


def conversation_open(a_id: Any, b_id: Any) -> Conversation:
    """The pair's conversation, created with its two participants the first time (safe when
    two requests open it at once: the pair is unique)."""
    low, high = matching_selectors.pair_key(a_id, b_id)
    existing = Conversation.objects.filter(member_low=low, member_high=high).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(member_low=low, member_high=high)
            Participant.objects.bulk_create(
                [Participant(conversation=conversation, user_id=pk) for pk in (low, high)]
            )
            return conversation
    except IntegrityError:
        return Conversation.objects.get(member_low=low, member_high=high)


def conversation_of(*, user: User, conversation_id: Any) -> Conversation:
    """A conversation `user` sees (`chat.selectors.conversations_of`); 404 for any other (or
    a malformed id)."""
    conversation_id = _conversation_key(conversation_id)
    if conversation_id is None:
        raise _not_found()
    conversation = conversations_of(viewer=user).filter(pk=conversation_id).first()
    if conversation is None:
        raise _not_found()
    return conversation


# Messages


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


SendResult = tuple[Message, bool] | Exception  # ApiError, or RateLimited (a 429)


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
    problems = _problems({(requests[i].sender.pk, others[i]) for i in todo})
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


def _conversation_key(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _resolve(
    requests: list[SendRequest], todo: list[int], results: list[SendResult | None]
) -> dict[int, Any]:
    """Each request's other member; 404 for a conversation that is not the sender's."""
    wanted = {_conversation_key(requests[i].conversation_id) for i in todo} - {None}
    found = BATCH_STATEMENTS.rows("members", {"ids": padded(wanted)}, _members_of) if wanted else []
    conversations = {row["pk"]: (row["member_low"], row["member_high"]) for row in found}
    others: dict[int, Any] = {}
    for index in todo:
        request = requests[index]
        if request.conversation_id is None:
            recipient = user_by_public_id(value=request.recipient_id or "")
            if recipient is None or recipient.pk == request.sender.pk:
                results[index] = _not_found()
            else:
                others[index] = recipient.pk
            continue
        members = conversations.get(_conversation_key(request.conversation_id), ())
        if request.sender.pk not in members:
            results[index] = _not_found()
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
    return _live_connections(values["users"], since=values["since"]).values(
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
            conversation_of_request[index] = _conversation_key(request.conversation_id)
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
        raise _not_found()
    if message.sender_id != user.pk:
        raise ApiError("Only the sender can change a message.", "not_sender", 403)
    if timezone.now() - message.created_at > EDIT_WINDOW:
        raise ApiError("Messages can be changed for 15 minutes.", "edit_window_closed", 409)
    _check(user.pk, other_member_id(conversation, user.pk))
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
    if settings_of(user).read_receipts and _problem(user.pk, other_id) is None:
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
    problem = _problem(user.pk, other_id)
    if problem is not None:
        raise problem
    events.send_to_user(
        other_id,
        {"type": "typing", "conversation_id": str(conversation.pk), "user_id": str(user.pk)},
    )


# Settings and presence


def settings_of(user: User) -> ChatSettings:
    found, _ = ChatSettings.objects.get_or_create(user=user)
    return found


def settings_update(*, user: User, changes: dict[str, Any]) -> ChatSettings:
    found = settings_of(user)
    for name, value in changes.items():
        setattr(found, name, value)
    found.save()
    return found


def _fresh_since() -> Any:
    return timezone.now() - timedelta(seconds=settings.CHAT_PRESENCE_STALE)


def _live_connections(user_ids: Iterable[Any], since: Any = None) -> QuerySet[Connection]:
    """The live chat connections of `user_ids` (refreshed since `since`, by default lately:
    see `Connection`)."""
    return Connection.objects.filter(
        user_id__in=user_ids, kind=ConnectionKind.CHAT, seen_at__gte=since or _fresh_since()
    )


def _online_among(user_ids: set[Any]) -> set[Any]:
    """Those of `user_ids` with a live connection."""
    return set(_live_connections(user_ids).values_list("user_id", flat=True).distinct())


def _live_channels(user_ids: set[Any]) -> dict[Any, list[str]]:
    """The channels of each of `user_ids`' live connections; members with none are absent."""
    live: dict[Any, list[str]] = {}
    if not user_ids:
        return live
    values = {"users": padded(user_ids), "since": _fresh_since()}
    for row in BATCH_STATEMENTS.rows("channels", values, _channels_of):
        live.setdefault(row["user_id"], []).append(row["channel_name"])
    return live


def is_online(user_id: Any) -> bool:
    return bool(_online_among({user_id}))


def presences_of(user_ids: list[Any]) -> list[dict[str, Any]]:
    """What a contact may know of these members' presence, in two queries; members who hide
    it are left out."""
    found = {s.pk: s for s in ChatSettings.objects.filter(user_id__in=user_ids)}
    online = _online_among(set(user_ids))
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


def _contacts(user: User) -> list[Any]:
    """Members who may see my presence: those I may talk to (`_problems`)."""
    contacts = matching_selectors.contacts_of(user)
    problems = _problems({(user.pk, other) for other in contacts})
    return [other for other in contacts if frozenset((user.pk, other)) not in problems]


def _announce_presence(user: User, contacts: list[Any] | None = None) -> None:
    for frame in presences_of([user.pk]):
        for contact in _contacts(user) if contacts is None else contacts:
            events.send_to_user(contact, frame)


def connection_open(*, user: User, channel_name: str, server: str) -> list[dict[str, Any]]:
    """Record a live chat connection (`socket_open`: 429 over the cap); the first one makes
    the member online for their contacts. Returns the presence of the member's contacts,
    for the new connection."""
    was_online = is_online(user.pk)
    socket_open(user=user, channel_name=channel_name, server=server, kind=ConnectionKind.CHAT)
    contacts = _contacts(user)
    if not was_online:
        _announce_presence(user, contacts)
    return presences_of(contacts)


def socket_open(*, user: User, channel_name: str, server: str, kind: str) -> None:
    """Record a live socket of `user`'s, unless CHAT_MAX_SOCKETS of theirs are open already
    (chat and call together; a dead server's rows stop counting once stale): then 429
    `too_many_connections`, and nothing is stored. The member's row is locked meanwhile, so
    two sockets opening at once cannot both take the last place."""
    cap = settings.CHAT_MAX_SOCKETS
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        open_now = Connection.objects.filter(user=user, seen_at__gte=_fresh_since())
        if open_now.exclude(channel_name=channel_name).count() >= cap:
            raise ApiError(
                f"At most {cap} connections may be open at once; close one first.",
                "too_many_connections",
                429,
            )
        Connection.objects.update_or_create(
            channel_name=channel_name,
            defaults={"user": user, "kind": kind, "server": server, "seen_at": timezone.now()},
        )


def connection_close(*, user: User, channel_name: str) -> None:
    """The last connection leaving makes the member offline, last seen now."""
    Connection.objects.filter(channel_name=channel_name).delete()
    if not is_online(user.pk):
        if not User.objects.filter(pk=user.pk, deleted_at__isnull=True).exists():
            return  # the account was deleted (its sockets close after): nothing to keep
        ChatSettings.objects.update_or_create(user=user, defaults={"last_seen_at": timezone.now()})
        _announce_presence(user)


def connections_refresh(*, server: str) -> None:
    """Keep this process's connections fresh; forget those of processes that died. Their
    members who have no other live connection go offline, last seen when those connections
    were last refreshed, and their contacts are told."""
    Connection.objects.filter(server=server).update(seen_at=timezone.now())
    cutoff = _fresh_since()
    stale = Connection.objects.filter(seen_at__lt=cutoff)
    rows = list(stale.values_list("user_id", "seen_at", "kind"))
    if not rows:
        return
    stale.delete()  # call sockets' rows too: their places under the cap come free
    last_refreshed: dict[Any, Any] = {}
    for user_id, seen_at, kind in rows:
        if kind == ConnectionKind.CHAT:  # a call socket never made its member online
            last_refreshed[user_id] = max(seen_at, last_refreshed.get(user_id, seen_at))
    still_online = _online_among(set(last_refreshed))
    for member in User.objects.filter(pk__in=set(last_refreshed) - still_online):
        ChatSettings.objects.update_or_create(
            user=member, defaults={"last_seen_at": last_refreshed[member.pk]}
        )
        _announce_presence(member)


# Calls


def call_data(call: Call) -> dict[str, Any]:
    return {
        "call_id": str(call.pk),
        "caller_id": str(call.caller_id),
        "callee_id": str(call.callee_id),
        "media": call.media,
        "status": call.status,
        "created_at": call.created_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "duration_seconds": call.duration_seconds,
        "end_reason": call.end_reason,
    }


def _to_parties(call: Call, frame_type: str, **extra: Any) -> None:
    frame = {"type": frame_type, **call_data(call), **extra}
    for member in (call.caller_id, call.callee_id):
        events.send_to_group(calls_group(member), frame)


def call_invite(*, caller: User, callee_id: str, media: str, channel_name: str = "") -> Call:
    """Ring the callee's devices (`callee_id`: the member's id or profile code). Only members
    who may chat may call; one live call each; at most `chat_call_invite` calls placed (each
    counted before any database work)."""
    take("chat_call_invite", str(caller.pk))
    callee = user_by_public_id(value=callee_id)
    if callee is None or callee.pk == caller.pk:
        raise _not_found()
    _check(caller.pk, callee.pk)
    calls_expire_due()
    with transaction.atomic():
        # Both members' rows, locked in one order: two calls placed between them at once
        # wait for each other, so the second sees the first and is busy.
        list(User.objects.select_for_update().filter(pk__in=[caller.pk, callee.pk]).order_by("pk"))
        busy = Call.objects.filter(
            Q(caller__in=[caller, callee]) | Q(callee__in=[caller, callee]), status__in=LIVE_CALL
        ).exists()
        if busy:
            raise ApiError("One of you is already in a call.", "busy", 409)
        call = Call.objects.create(
            caller=caller, callee=callee, media=media, caller_channel=channel_name
        )
        _to_parties(call, "call.ringing")
    return call


def call_of(*, user: User, call_id: Any) -> Call:
    call = (
        Call.objects.select_for_update()
        .filter(Q(caller=user) | Q(callee=user))
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        raise _not_found()
    return call


def _not_live(call: Call) -> ApiError:
    return ApiError(f"This call is {call.status}.", "call_not_live", 409)


def call_accept(*, user: User, call_id: Any, channel_name: str = "") -> Call:
    with transaction.atomic():
        call = call_of(user=user, call_id=call_id)
        if call.callee_id != user.pk:
            raise ApiError("Only the member called can answer.", "not_callee", 403)
        if call.status != CallStatus.RINGING:
            raise _not_live(call)
        _check(user.pk, call.caller_id)
        call.status, call.answered_at = CallStatus.ACCEPTED, timezone.now()
        call.callee_channel = channel_name
        call.save(update_fields=["status", "answered_at", "callee_channel"])
        _to_parties(call, "call.accepted")
    return call


def _finish(call: Call, status: str, reason: str) -> Call:
    call.status, call.ended_at, call.end_reason = status, timezone.now(), reason
    call.save(update_fields=["status", "ended_at", "end_reason"])
    if status == CallStatus.MISSED and _missed_call_worth_telling(call):
        notify(
            recipient=call.callee,
            kind=Kind.CALL_MISSED,
            title=f"Missed {call.media} call from {call.caller.first_name}",
            data={"call": str(call.pk)},
        )
    _to_parties(call, "call.ended")
    return call


def _missed_call_worth_telling(call: Call) -> bool:
    """One missed-call notification per caller and callee in a `chat_missed_call_notice`
    window: a caller ringing again and again (an invite/hang-up loop) is told once."""
    pair = f"{call.caller_id}.{call.callee_id}"
    granted, _ = take_many("chat_missed_call_notice", {pair: 1})[pair]
    return granted > 0


def call_reject(*, user: User, call_id: Any) -> Call:
    with transaction.atomic():
        call = call_of(user=user, call_id=call_id)
        if call.callee_id != user.pk:
            raise ApiError("Only the member called can reject.", "not_callee", 403)
        if call.status != CallStatus.RINGING:
            raise _not_live(call)
        return _finish(call, CallStatus.REJECTED, "rejected")


def call_hangup(*, user: User, call_id: Any) -> Call:
    """Either party. Before an answer: the caller giving up leaves a missed call, the callee
    declining a rejected one."""
    with transaction.atomic():
        call = call_of(user=user, call_id=call_id)
        if call.status not in LIVE_CALL:
            raise _not_live(call)
        if call.status == CallStatus.RINGING:
            if call.callee_id == user.pk:
                return _finish(call, CallStatus.REJECTED, "rejected")
            return _finish(call, CallStatus.MISSED, "cancelled")
        return _finish(call, CallStatus.ENDED, "hangup")


def _finish_live(call_ids: list[Any], decide: Callable[[Call], tuple[str, str] | None]) -> int:
    """Finish each still-live call of `call_ids` as `decide` says (status, reason), under its
    row lock; `decide` returning None leaves a call alone. Returns how many ended."""
    ended = 0
    for call_id in call_ids:
        with transaction.atomic():
            call = (
                Call.objects.select_for_update()
                .select_related("caller", "callee")
                .filter(pk=call_id, status__in=LIVE_CALL)
                .first()
            )
            outcome = decide(call) if call is not None else None
            if call is not None and outcome is not None:
                _finish(call, *outcome)
                ended += 1
    return ended


def call_expire(*, call_id: Any) -> bool:
    """A call still ringing after CHAT_CALL_RING_SECONDS becomes missed; True if it did."""
    due = timezone.now() - timedelta(seconds=settings.CHAT_CALL_RING_SECONDS)

    def unanswered(call: Call) -> tuple[str, str] | None:
        if call.status == CallStatus.RINGING and call.created_at <= due:
            return CallStatus.MISSED, "no_answer"
        return None

    return bool(_finish_live([call_id], unanswered))


def calls_expire_due() -> int:
    """Every call left ringing too long (its server may have stopped before its timer)."""
    due = timezone.now() - timedelta(seconds=settings.CHAT_CALL_RING_SECONDS)
    ids = Call.objects.filter(status=CallStatus.RINGING, created_at__lte=due)
    return sum(call_expire(call_id=call_id) for call_id in ids.values_list("pk", flat=True))


def _ended_or_failed(reason: str) -> Callable[[Call], tuple[str, str]]:
    def decide(call: Call) -> tuple[str, str]:
        return (
            CallStatus.ENDED if call.status == CallStatus.ACCEPTED else CallStatus.FAILED
        ), reason

    return decide


def calls_end_for(*, user_ids: list[Any], reason: str, between: bool = False) -> int:
    """End the live calls of these members (a block between two, a suspension of one)."""
    live = Call.objects.filter(status__in=LIVE_CALL)
    if between:
        a, b = user_ids
        live = live.filter(Q(caller=a, callee=b) | Q(caller=b, callee=a))
    else:
        live = live.filter(Q(caller__in=user_ids) | Q(callee__in=user_ids))
    return _finish_live(list(live.values_list("pk", flat=True)), _ended_or_failed(reason))


def call_socket_close(*, channel_name: str) -> int:
    """A `/ws/call` socket closed: its place under the cap comes free, and a call it carried
    ends (`calls_drop_channel`)."""
    Connection.objects.filter(channel_name=channel_name).delete()
    return calls_drop_channel(channel_name=channel_name)


def calls_drop_channel(*, channel_name: str) -> int:
    """The device carrying a live call went away: a call it was placing is missed, a call
    it was in has failed."""
    live = Call.objects.filter(
        Q(caller_channel=channel_name) | Q(callee_channel=channel_name), status__in=LIVE_CALL
    )

    def dropped(call: Call) -> tuple[str, str] | None:
        if call.status == CallStatus.ACCEPTED:
            return CallStatus.FAILED, "connection_lost"
        return (CallStatus.MISSED, "cancelled") if call.caller_channel == channel_name else None

    return _finish_live(list(live.values_list("pk", flat=True)), dropped)


def call_signal(
    *, user: User, call_id: Any, kind: str, payload: dict[str, Any], channel_name: str = ""
) -> None:
    """Relay SDP or ICE (which carry network addresses) to the other party of an answered
    call, from and to the two devices carrying it only. Nothing is stored."""
    call = (
        Call.objects.filter(Q(caller=user) | Q(callee=user))
        .filter(pk=call_id, status__in=LIVE_CALL)
        .values("status", "caller_id", "callee_id", "caller_channel", "callee_channel")
        .first()
    )
    from_caller = call is not None and call["caller_id"] == user.pk
    mine = call and (call["caller_channel"] if from_caller else call["callee_channel"])
    if call is None or (channel_name and mine and mine != channel_name):
        raise ApiError("No live call of yours has that id.", "no_such_call", 404)
    if call["status"] != CallStatus.ACCEPTED:
        raise ApiError("Wait for the call to be answered.", "call_not_answered", 409)
    other = call["callee_id"] if from_caller else call["caller_id"]
    channel = call["callee_channel"] if from_caller else call["caller_channel"]
    frame = {"type": kind, "call_id": str(call_id), "from_user_id": str(user.pk), **payload}
    if channel:
        events.send_to_channel(channel, frame)
    else:
        events.send_to_group(calls_group(other), frame)


def calls_of(*, user: User) -> Any:
    calls_expire_due()
    return Call.objects.filter(Q(caller=user) | Q(callee=user)).order_by("-created_at", "-pk")


def turn_credentials(*, user: User) -> dict[str, Any]:
    """coturn's REST API (use-auth-secret): username "<expiry>:<user id>", password
    base64(HMAC-SHA1(secret, username))."""
    if not settings.TURN_SECRET or not settings.TURN_URIS:
        raise ApiError("Calls relay is not configured here.", "turn_unavailable", 503)
    ttl = settings.TURN_TTL
    username = f"{int(time.time()) + ttl}:{user.pk}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return {
        "username": username,
        "password": base64.b64encode(digest).decode(),
        "ttl": ttl,
        "uris": list(settings.TURN_URIS),
    }
