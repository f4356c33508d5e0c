"""Audio and video calls: ringing, answering, ending, relaying signalling between the two
devices carrying a call, and TURN credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_by_public_id
from aurum import events, metrics
from aurum.errors import Conflict, DomainError, Forbidden, NotFound, Unavailable
from aurum.ratelimit import take, take_many
from chat.models import (
    LIVE_CALL,
    Call,
    CallStatus,
    Connection,
)
from chat.services.reach import check_reach, not_found
from notifications.choices import Kind
from notifications.services import notify


def calls_group(user_id: Any) -> str:
    return f"calls.{user_id}"


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
        raise not_found()
    check_reach(caller.pk, callee.pk)
    calls_expire_due()
    with transaction.atomic():
        # Both members' rows, locked in one order: two calls placed between them at once
        # wait for each other, so the second sees the first and is busy.
        list(User.objects.select_for_update().filter(pk__in=[caller.pk, callee.pk]).order_by("pk"))
        busy = Call.objects.filter(
            Q(caller__in=[caller, callee]) | Q(callee__in=[caller, callee]), status__in=LIVE_CALL
        ).exists()
        if busy:
            raise Conflict("One of you is already in a call.", "busy")
        call = Call.objects.create(
            caller=caller, callee=callee, media=media, caller_channel=channel_name
        )
        _to_parties(call, "call.ringing")
    metrics.CALLS_PLACED.labels(media).inc()
    return call


def call_of(*, user: User, call_id: Any) -> Call:
    call = (
        Call.objects.select_for_update()
        .filter(Q(caller=user) | Q(callee=user))
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        raise not_found()
    return call


def _not_live(call: Call) -> DomainError:
    return Conflict(f"This call is {call.status}.", "call_not_live")


def call_accept(*, user: User, call_id: Any, channel_name: str = "") -> Call:
    with transaction.atomic():
        call = call_of(user=user, call_id=call_id)
        if call.callee_id != user.pk:
            raise Forbidden("Only the member called can answer.", "not_callee")
        if call.status != CallStatus.RINGING:
            raise _not_live(call)
        check_reach(user.pk, call.caller_id)
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
    transaction.on_commit(metrics.CALLS_ENDED.labels(status).inc)
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
            raise Forbidden("Only the member called can reject.", "not_callee")
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
        raise NotFound("No live call of yours has that id.", "no_such_call")
    if call["status"] != CallStatus.ACCEPTED:
        raise Conflict("Wait for the call to be answered.", "call_not_answered")
    other = call["callee_id"] if from_caller else call["caller_id"]
    channel = call["callee_channel"] if from_caller else call["caller_channel"]
    frame = {"type": kind, "call_id": str(call_id), "from_user_id": str(user.pk), **payload}
    if channel:
        events.send_to_channel(channel, frame)
    else:
        events.send_to_group(calls_group(other), frame)


def turn_credentials(*, user: User) -> dict[str, Any]:
    """coturn's REST API (use-auth-secret): username "<expiry>:<user id>", password
    base64(HMAC-SHA1(secret, username))."""
    if not settings.TURN_SECRET or not settings.TURN_URIS:
        raise Unavailable("Calls relay is not configured here.", "turn_unavailable")
    ttl = settings.TURN_TTL
    username = f"{int(time.time()) + ttl}:{user.pk}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return {
        "username": username,
        "password": base64.b64encode(digest).decode(),
        "ttl": ttl,
        "uris": list(settings.TURN_URIS),
    }
