"""`/ws/call`: ringing, answering, signalling relayed to the other party only while the call is
live, missed calls, and a block or a suspension ending a live call."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from accounts.services import user_set_active
from chat.consumers import refresh_once
from chat.models import Call
from chat.tasks import ring_out
from chat.tests.helpers import connected_pair, frames_until, nothing_more, socket_for
from moderation.services import block_create
from notifications.models import Notification
from profiles.tests.factories import make_groom

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

pair = database_sync_to_async(connected_pair)


async def ring(caller_ws, callee, media="video"):
    await caller_ws.send_json_to(
        {"type": "call.invite", "to_user_id": str(callee.user_id), "media": media}
    )
    return await frames_until(caller_ws, "call.ringing")


async def call_row(call_id):
    return await database_sync_to_async(Call.objects.get)(pk=call_id)


async def test_invite_rings_both_sides_then_accept_relays_sdp_and_ice_between_the_two_only():
    bride, groom, _ = await pair()
    groom_ws = await socket_for(groom, "/ws/call")
    bride_phone = await socket_for(bride, "/ws/call")
    bride_tablet = await socket_for(bride, "/ws/call")

    ringing = await ring(groom_ws, bride)
    incoming = await frames_until(bride_phone, "call.ringing")
    await frames_until(bride_tablet, "call.ringing")
    call_id = ringing["call_id"]
    await bride_phone.send_json_to({"type": "call.accept", "call_id": call_id})
    accepted = await frames_until(groom_ws, "call.accepted")
    await frames_until(bride_tablet, "call.accepted")  # the other device stops ringing
    await groom_ws.send_json_to({"type": "offer", "call_id": call_id, "sdp": "v=0 offer"})
    offer = await frames_until(bride_phone, "offer")
    await bride_phone.send_json_to({"type": "answer", "call_id": call_id, "sdp": "v=0 answer"})
    answer = await frames_until(groom_ws, "answer")
    candidate = {"candidate": "candidate:1 1 UDP 2122 192.0.2.1 5000 typ host", "sdpMid": "0"}
    await bride_phone.send_json_to(
        {"type": "ice_candidate", "call_id": call_id, "candidate": candidate}
    )
    ice = await frames_until(groom_ws, "ice_candidate")

    assert incoming["call_id"] == call_id and incoming["caller_id"] == str(groom.user_id)
    assert incoming["media"] == "video"
    assert accepted["status"] == "accepted"
    assert offer == {
        "type": "offer",
        "call_id": call_id,
        "from_user_id": str(groom.user_id),
        "sdp": "v=0 offer",
    }
    assert answer["sdp"] == "v=0 answer" and ice["candidate"] == candidate
    assert await nothing_more(bride_tablet, "offer")  # only the device that answered
    await groom_ws.send_json_to({"type": "call.hangup", "call_id": call_id})
    ended = await frames_until(bride_phone, "call.ended")
    row = await call_row(call_id)
    assert ended["status"] == "ended" and row.status == "ended" and row.ended_at is not None
    for ws in (groom_ws, bride_phone, bride_tablet):
        await ws.disconnect()


async def test_signalling_after_the_call_or_from_a_stranger_is_refused():
    bride, groom, _ = await pair()
    stranger = await database_sync_to_async(make_groom)()
    groom_ws, bride_ws = await socket_for(groom, "/ws/call"), await socket_for(bride, "/ws/call")
    stranger_ws = await socket_for(stranger, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]

    await stranger_ws.send_json_to({"type": "offer", "call_id": call_id, "sdp": "v=0"})
    not_his = await frames_until(stranger_ws, "error")
    await stranger_ws.send_json_to({"type": "call.accept", "call_id": call_id})
    not_his_to_accept = await frames_until(stranger_ws, "error")
    await bride_ws.send_json_to({"type": "call.reject", "call_id": call_id})
    await frames_until(groom_ws, "call.ended")
    await groom_ws.send_json_to({"type": "offer", "call_id": call_id, "sdp": "v=0"})
    over = await frames_until(groom_ws, "error")

    assert not_his["code"] == "no_such_call" and not_his_to_accept["code"] == "not_found"
    assert over["code"] == "no_such_call"
    assert (await call_row(call_id)).status == "rejected"
    assert await nothing_more(bride_ws, "offer")
    for ws in (groom_ws, bride_ws, stranger_ws):
        await ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "call.invite", "to_user_id": "nobody", "media": "video"}, "not_found"),
        ({"type": "call.invite", "to_user_id": "BRIDE", "media": "hologram"}, "invalid"),
        ({"type": "call.accept", "call_id": "00000000-0000-0000-0000-000000000000"}, "not_found"),
        ({"type": "offer", "call_id": "CALL"}, "invalid"),
        ({"type": "offer", "call_id": "CALL", "sdp": "x" * 20000}, "invalid"),
        ({"type": "ice_candidate", "call_id": "CALL", "candidate": 5}, "invalid"),
        ({"type": "message.send"}, "unknown_type"),
    ],
)
async def test_bad_call_frames_get_an_error_and_the_socket_stays_open(frame, code):
    bride, groom, _ = await pair()
    groom_ws = await socket_for(groom, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]
    frame = {
        k: call_id if v == "CALL" else str(bride.user_id) if v == "BRIDE" else v
        for k, v in frame.items()
    }

    await groom_ws.send_json_to(frame)
    error = await frames_until(groom_ws, "error")
    await groom_ws.send_json_to({"type": "ping"})

    assert error["code"] == code
    assert await frames_until(groom_ws, "pong") == {"type": "pong"}
    assert await database_sync_to_async(Call.objects.count)() == 1
    await groom_ws.disconnect()


async def test_only_members_who_may_chat_may_call_and_one_live_call_at_a_time():
    bride, groom, _ = await pair()
    stranger = await database_sync_to_async(make_groom)()
    stranger_ws = await socket_for(stranger, "/ws/call")
    groom_ws = await socket_for(groom, "/ws/call")

    await stranger_ws.send_json_to(
        {"type": "call.invite", "to_user_id": str(bride.user_id), "media": "audio"}
    )
    refused = await frames_until(stranger_ws, "error")
    await ring(groom_ws, bride)
    await groom_ws.send_json_to(
        {"type": "call.invite", "to_user_id": str(bride.user_id), "media": "audio"}
    )
    busy = await frames_until(groom_ws, "error")

    assert refused["code"] == "not_connected" and busy["code"] == "busy"
    assert await database_sync_to_async(Call.objects.count)() == 1
    await stranger_ws.disconnect()
    await groom_ws.disconnect()


async def test_an_unanswered_call_becomes_missed_and_the_callee_is_told(settings):
    settings.CHAT_CALL_RING_SECONDS = 1
    bride, groom, _ = await pair()
    groom_ws, bride_ws = await socket_for(groom, "/ws/call"), await socket_for(bride, "/ws/call")

    call_id = (await ring(groom_ws, bride, media="audio"))["call_id"]
    ended = await frames_until(bride_ws, "call.ended", timeout=4)

    row = await call_row(call_id)
    told = await database_sync_to_async(
        lambda: list(Notification.objects.filter(recipient=bride.user, kind="call_missed"))
    )()
    assert ended["status"] == "missed" and row.status == "missed" and row.end_reason == "no_answer"
    assert len(told) == 1 and told[0].data == {"call": call_id}
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_a_call_left_ringing_by_a_stopped_server_is_ended_by_the_schedule_not_a_read(
    settings, client_for
):
    settings.CHAT_CALL_RING_SECONDS = 0
    bride, groom, _ = await pair()
    from chat import services

    call = await database_sync_to_async(services.call_invite)(
        caller=groom.user, callee_id=str(bride.user_id), media="audio"
    )
    calls = await database_sync_to_async(client_for)(bride.user)
    before = await database_sync_to_async(lambda: calls.get("/api/v1/chat/calls").json())()
    still = await call_row(str(call.pk))
    await refresh_once()  # a live server's own chores leave other servers' calls alone
    assert (await call_row(str(call.pk))).status == "ringing"
    await database_sync_to_async(ring_out.apply)()  # the beat schedule's ring-out
    after = await database_sync_to_async(lambda: calls.get("/api/v1/chat/calls").json())()

    # The history is a read: it changes nothing. The schedule's ring-out ends the call.
    assert before["results"][0]["status"] == "ringing" and still.status == "ringing"
    assert after["results"][0]["call_id"] == str(call.pk)
    assert after["results"][0]["status"] == "missed"
    assert (await call_row(str(call.pk))).end_reason == "no_answer"


async def test_a_block_mid_call_ends_it():
    bride, groom, _ = await pair()
    groom_ws, bride_ws = await socket_for(groom, "/ws/call"), await socket_for(bride, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]
    await bride_ws.send_json_to({"type": "call.accept", "call_id": call_id})
    await frames_until(groom_ws, "call.accepted")

    await database_sync_to_async(block_create)(blocker=bride.user, blocked=groom.user)
    ended = await frames_until(groom_ws, "call.ended")
    await groom_ws.send_json_to(
        {"type": "ice_candidate", "call_id": call_id, "candidate": {"c": 1}}
    )
    refused = await frames_until(groom_ws, "error")

    assert ended["status"] == "ended" and ended["end_reason"] == "blocked"
    assert refused["code"] == "no_such_call"
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_suspension_mid_call_ends_it_and_closes_the_call_socket():
    bride, groom, _ = await pair()
    groom_ws, bride_ws = await socket_for(groom, "/ws/call"), await socket_for(bride, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]
    await bride_ws.send_json_to({"type": "call.accept", "call_id": call_id})
    await frames_until(groom_ws, "call.accepted")

    await database_sync_to_async(user_set_active)(actor=None, user=groom.user, active=False)
    ended = await frames_until(bride_ws, "call.ended")
    closing = None
    while closing is None or closing["type"] != "websocket.close":
        closing = await groom_ws.receive_output()

    assert ended["end_reason"] == "suspended"
    assert closing["code"] == 4401
    assert (await call_row(call_id)).status == "ended"
    await bride_ws.disconnect()


async def test_the_answering_device_dropping_fails_the_call_with_its_duration():
    bride, groom, _ = await pair()
    groom_ws, bride_ws = await socket_for(groom, "/ws/call"), await socket_for(bride, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]
    await bride_ws.send_json_to({"type": "call.accept", "call_id": call_id})
    await frames_until(groom_ws, "call.accepted")
    await asyncio.sleep(1.1)

    await bride_ws.disconnect()
    ended = await frames_until(groom_ws, "call.ended")

    assert ended["status"] == "failed" and ended["end_reason"] == "connection_lost"
    assert ended["duration_seconds"] >= 1
    await groom_ws.disconnect()


async def test_the_callee_declining_while_it_rings_is_a_rejection_not_a_missed_call():
    bride, groom, _ = await pair()
    groom_ws, bride_ws = await socket_for(groom, "/ws/call"), await socket_for(bride, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]

    await bride_ws.send_json_to({"type": "call.hangup", "call_id": call_id})
    ended = await frames_until(groom_ws, "call.ended")

    missed = await database_sync_to_async(Notification.objects.filter(kind="call_missed").count)()
    assert ended["status"] == "rejected" and missed == 0
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_signals_wait_for_an_answer_and_come_only_from_the_devices_in_the_call():
    bride, groom, _ = await pair()
    groom_ws = await socket_for(groom, "/ws/call")
    bride_phone = await socket_for(bride, "/ws/call")
    bride_tablet = await socket_for(bride, "/ws/call")
    call_id = (await ring(groom_ws, bride))["call_id"]

    await groom_ws.send_json_to({"type": "offer", "call_id": call_id, "sdp": "v=0 early"})
    too_early = await frames_until(groom_ws, "error")
    await bride_phone.send_json_to({"type": "call.accept", "call_id": call_id})
    await frames_until(groom_ws, "call.accepted")
    await bride_tablet.send_json_to({"type": "answer", "call_id": call_id, "sdp": "v=0 other"})
    wrong_device = await frames_until(bride_tablet, "error")

    assert too_early["code"] == "call_not_answered"
    assert wrong_device["code"] == "no_such_call"
    assert await nothing_more(bride_phone, "offer")
    assert await nothing_more(groom_ws, "answer")
    for ws in (groom_ws, bride_phone, bride_tablet):
        await ws.disconnect()


async def test_a_call_may_name_the_callee_by_profile_code():
    bride, groom, _ = await pair()
    groom_ws = await socket_for(groom, "/ws/call")

    await groom_ws.send_json_to(
        {"type": "call.invite", "to_user_id": bride.user.profile_code, "media": "audio"}
    )
    ringing = await frames_until(groom_ws, "call.ringing")

    assert ringing["callee_id"] == str(bride.user_id)
    await groom_ws.disconnect()
