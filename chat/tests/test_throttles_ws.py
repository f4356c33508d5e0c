"""Per-member limits on socket frames: typing, read and `call.invite` frames each have a
budget that all of a member's sockets share (past it: an `error {code: "rate_limited"}`
frame, no database work, nothing sent on, the socket open), and a missed-call notification
at most once per caller and callee in a window."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat import services
from chat.models import Call, Participant
from chat.services import messages as message_services
from chat.tests.helpers import connected_pair, frames_until, nothing_more, socket_for
from matching import services as matching
from notifications.models import Notification
from profiles.tests.factories import make_groom

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

pair = database_sync_to_async(connected_pair)


def limit(settings, **rates: str) -> None:
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, **rates}


def counting(monkeypatch, name: str) -> list[int]:
    """Count the calls of `chat.services.<name>` (which still runs), from the consumers and
    from the messages module alike."""
    calls: list[int] = []
    original = getattr(services, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, name, counted)
    if hasattr(message_services, name):
        monkeypatch.setattr(message_services, name, counted)
    return calls


async def until_pong(ws: WebsocketCommunicator) -> list[dict]:
    """Every frame up to the answer to a ping sent now: frames are answered in order, so
    those of the frames sent before it."""
    await ws.send_json_to({"type": "ping"})
    frames = []
    while (frame := await ws.receive_json_from(timeout=3))["type"] != "pong":
        frames.append(frame)
    return frames


async def heard(ws: WebsocketCommunicator, kind: str) -> int:
    """How many frames of `kind` arrive before the socket falls quiet."""
    count = 0
    while not await ws.receive_nothing(timeout=0.3):
        count += (await ws.receive_json_from())["type"] == kind
    return count


def typing_frame(conversation) -> dict:
    return {"type": "typing", "conversation_id": str(conversation.pk)}


async def test_typing_past_the_members_budget_is_refused_on_every_socket_without_work(
    settings, monkeypatch
):
    limit(settings, chat_typing="3/m")
    bride, groom, conversation = await pair()
    phone, tablet, bride_ws = (
        await socket_for(groom),
        await socket_for(groom),
        await socket_for(bride),
    )
    for ws in (phone, tablet, bride_ws):
        await nothing_more(ws)  # the presence greetings
    looked_up = counting(monkeypatch, "conversation_of")

    for ws in (phone, tablet):  # a member's sockets share one budget
        for _ in range(3):
            await ws.send_json_to(typing_frame(conversation))
    answered = await until_pong(phone) + await until_pong(tablet)

    errors = [frame for frame in answered if frame["type"] == "error"]
    assert len(errors) == 3
    assert {frame["code"] for frame in errors} == {"rate_limited"}
    assert all(0 < frame["retry_after"] <= 60 for frame in errors)
    assert await heard(bride_ws, "typing") == 3
    assert len(looked_up) == 3  # a refused frame reads nothing from the database
    for ws in (phone, tablet, bride_ws):
        await ws.disconnect()


async def test_a_socket_refused_once_refuses_on_its_own_until_the_window_ends(
    settings, monkeypatch
):
    limit(settings, chat_typing="2/m")
    _bride, groom, conversation = await pair()
    ws = await socket_for(groom)
    await nothing_more(ws)
    asked = counting(monkeypatch, "typing")

    for _ in range(6):
        await ws.send_json_to(typing_frame(conversation))
    answered = await until_pong(ws)

    assert [frame["code"] for frame in answered] == ["rate_limited"] * 4
    assert len(asked) == 3  # two allowed, one refused by the shared count, three by the socket
    await ws.disconnect()


async def test_read_marks_past_the_budget_are_refused_over_websocket_and_http(settings, client_for):
    limit(settings, chat_read="2/m")
    bride, groom, conversation = await pair()
    send = database_sync_to_async(services.message_send)
    ids = [
        (
            await send(
                sender=groom.user, body="m", client_id=f"m{n}", conversation_id=conversation.pk
            )
        )[0].id
        for n in range(3)
    ]
    bride_ws, groom_ws = await socket_for(bride), await socket_for(groom)
    await nothing_more(bride_ws)
    await nothing_more(groom_ws)

    for message_id in ids:
        await bride_ws.send_json_to(
            {"type": "read", "conversation_id": str(conversation.pk), "up_to_id": message_id}
        )
    answered = await until_pong(bride_ws)
    over_http = await database_sync_to_async(
        lambda: client_for(bride.user).post(
            f"/api/v1/chat/messages/{conversation.pk}/read", {"up_to_id": ids[2]}, format="json"
        )
    )()

    assert [frame["code"] for frame in answered if frame["type"] == "error"] == ["rate_limited"]
    assert await heard(groom_ws, "read") == 2
    mark = await database_sync_to_async(
        lambda: Participant.objects.get(conversation=conversation, user=bride.user).last_read_id
    )()
    assert mark == ids[1]
    assert over_http.status_code == 429 and over_http.json()["code"] == "rate_limited"
    assert int(over_http["Retry-After"]) > 0
    await bride_ws.disconnect()
    await groom_ws.disconnect()


async def invite(ws, callee) -> dict:
    await ws.send_json_to(
        {"type": "call.invite", "to_user_id": str(callee.user_id), "media": "audio"}
    )
    return await ws.receive_json_from(timeout=3)


async def invite_and_hang_up(ws, callee) -> dict:
    ringing = await invite(ws, callee)
    if ringing["type"] == "call.ringing":
        await ws.send_json_to({"type": "call.hangup", "call_id": ringing["call_id"]})
        await frames_until(ws, "call.ended")
    return ringing


async def test_invites_past_the_budget_ring_no_one(settings):
    limit(settings, chat_call_invite="2/m")
    bride, groom, _conversation = await pair()
    groom_ws = await socket_for(groom, "/ws/call")

    answers = [await invite_and_hang_up(groom_ws, bride) for _ in range(4)]

    assert [frame["type"] for frame in answers] == ["call.ringing"] * 2 + ["error"] * 2
    assert {answers[2]["code"], answers[3]["code"]} == {"rate_limited"}
    assert await database_sync_to_async(Call.objects.count)() == 2
    assert await until_pong(groom_ws) == []  # the socket stays open
    await groom_ws.disconnect()


async def test_a_caller_leaves_one_missed_call_notification_per_window_however_often_they_ring():
    bride, groom, _conversation = await pair()
    other = await database_sync_to_async(_second_contact)(bride)
    groom_ws = await socket_for(groom, "/ws/call")
    other_ws = await socket_for(other, "/ws/call")

    for _ in range(3):
        assert (await invite_and_hang_up(groom_ws, bride))["type"] == "call.ringing"
    assert (await invite_and_hang_up(other_ws, bride))["type"] == "call.ringing"

    missed = await database_sync_to_async(
        lambda: list(Call.objects.filter(callee=bride.user, status="missed"))
    )()
    told = await database_sync_to_async(
        lambda: sorted(
            Notification.objects.filter(recipient=bride.user, kind="call_missed").values_list(
                "title", flat=True
            )
        )
    )()
    assert len(missed) == 4  # the call history keeps every one
    assert told == sorted(
        [
            f"Missed audio call from {groom.user.first_name}",
            f"Missed audio call from {other.user.first_name}",
        ]
    )
    await groom_ws.disconnect()
    await other_ws.disconnect()


def _second_contact(bride):
    other = make_groom()
    interest = matching.interest_send(sender=other.user, receiver=bride.user)
    matching.interest_accept(user=bride.user, interest=interest)
    return other
