"""`/ws/chat` as the apps use it: send and ack, live delivery, typing, receipts, presence, and
bad frames answered with an error frame on a socket that stays open. Runs on the in-memory
layer on the embedded default and on Redis in CI."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.services import user_set_active
from aurum.asgi import application
from chat import selectors, services
from chat.models import Connection, Message
from chat.tests.helpers import connected_pair, frames_until, nothing_more, socket_for
from moderation.services import block_create
from profiles.tests.factories import make_groom

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

pair = database_sync_to_async(connected_pair)


def send_frame(conversation, body="Namaskaram", client_id="c-1"):
    return {
        "type": "message.send",
        "conversation_id": str(conversation.pk),
        "body": body,
        "client_id": client_id,
    }


async def test_a_message_is_acked_to_the_sender_and_delivered_to_the_other_member():
    bride, groom, conversation = await pair()
    groom_phone, groom_tablet = await socket_for(groom), await socket_for(groom)
    bride_ws = await socket_for(bride)

    await groom_phone.send_json_to(send_frame(conversation))
    ack = await frames_until(groom_phone, "message.ack")
    on_tablet = await frames_until(groom_tablet, "message.ack")
    new = await frames_until(bride_ws, "message.new")

    stored = await database_sync_to_async(Message.objects.get)()
    assert ack["client_id"] == "c-1" and ack["message"]["id"] == stored.id
    assert on_tablet["message"]["id"] == stored.id  # the sender's other devices stay in step
    assert new["message"] == ack["message"]
    assert new["message"]["body"] == "Namaskaram"
    assert await nothing_more(bride_ws, "message.ack")  # the receiver gets no ack
    assert await nothing_more(groom_phone, "message.ack")  # one ack per device
    assert await nothing_more(groom_tablet, "message.ack")
    for ws in (groom_phone, groom_tablet, bride_ws):
        await ws.disconnect()


async def test_a_message_sent_over_http_is_acked_to_every_device_of_the_sender():
    _bride, groom, conversation = await pair()
    phone, tablet = await socket_for(groom), await socket_for(groom)

    await database_sync_to_async(services.message_send)(
        sender=groom.user, body="from the web", client_id="http-1", conversation_id=conversation.pk
    )

    for ws in (phone, tablet):
        assert (await frames_until(ws, "message.ack"))["client_id"] == "http-1"
        assert await nothing_more(ws, "message.ack")
        await ws.disconnect()


async def test_sends_in_flight_on_one_socket_are_stored_in_the_order_sent():
    bride, groom, conversation = await pair()
    groom_ws, bride_ws = await socket_for(groom), await socket_for(bride)

    for n in range(6):  # none waits for the ack of the one before
        await groom_ws.send_json_to(send_frame(conversation, body=f"m{n}", client_id=f"o-{n}"))
    acks = [await frames_until(groom_ws, "message.ack") for _ in range(6)]
    delivered = [(await frames_until(bride_ws, "message.new"))["message"] for _ in range(6)]

    by_client = {ack["client_id"]: ack["message"]["id"] for ack in acks}
    assert [by_client[f"o-{n}"] for n in range(6)] == sorted(by_client.values())
    assert [m["body"] for m in sorted(delivered, key=lambda m: m["id"])] == [
        f"m{n}" for n in range(6)
    ]
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_a_device_with_max_sending_messages_unstored_is_read_no_further(monkeypatch):
    # The store is held up: a device may have MAX_SENDING messages waiting; its next frame
    # waits (so does the socket's reading: a ping goes unanswered) until one is stored.
    from chat import consumers

    monkeypatch.setattr(consumers, "MAX_SENDING", 2)
    _bride, groom, conversation = await pair()
    groom_ws = await socket_for(groom)
    await nothing_more(groom_ws)  # the greeting (the bride's presence) read and dropped
    started, held, send = threading.Event(), threading.Event(), services.messages_send
    submitted: list[str] = []

    def slow_store(requests):
        submitted.extend(request.client_id for request in requests)
        started.set()
        held.wait(timeout=10)
        return send(requests)

    monkeypatch.setattr(services, "messages_send", slow_store)
    try:
        for n in range(3):
            await groom_ws.send_json_to(send_frame(conversation, client_id=f"w-{n}"))
        await groom_ws.send_json_to({"type": "ping"})
        for _ in range(500):  # the first batch is being written (and held)
            if started.is_set():
                break
            await asyncio.sleep(0.01)

        assert await nothing_more(groom_ws)  # no pong, no ack: the third send waits
        assert submitted == ["w-0"]  # the second waits for the batch being written
    finally:
        held.set()
    frames = [await groom_ws.receive_json_from(timeout=5) for _ in range(4)]

    kinds = [frame["type"] for frame in frames]
    assert sorted(kinds) == ["message.ack", "message.ack", "message.ack", "pong"]
    assert kinds.index("pong") > kinds.index("message.ack")  # read on once one was stored
    assert await database_sync_to_async(Message.objects.count)() == 3
    await groom_ws.disconnect()


async def test_a_repeated_client_id_is_acked_with_the_first_message_and_not_delivered_again():
    bride, groom, conversation = await pair()
    groom_ws, bride_ws = await socket_for(groom), await socket_for(bride)

    await groom_ws.send_json_to(send_frame(conversation, body="once", client_id="dup"))
    first = await frames_until(groom_ws, "message.ack")
    await frames_until(bride_ws, "message.new")
    await groom_ws.send_json_to(send_frame(conversation, body="again", client_id="dup"))
    second = await frames_until(groom_ws, "message.ack")

    assert second["message"] == first["message"]
    assert await nothing_more(bride_ws, "message.new")
    assert await database_sync_to_async(Message.objects.count)() == 1
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_typing_reaches_only_the_other_member_and_is_never_stored():
    bride, groom, conversation = await pair()
    groom_ws, bride_ws = await socket_for(groom), await socket_for(bride)

    await groom_ws.send_json_to({"type": "typing", "conversation_id": str(conversation.pk)})
    typing = await frames_until(bride_ws, "typing")

    assert typing == {
        "type": "typing",
        "conversation_id": str(conversation.pk),
        "user_id": str(groom.user_id),
    }
    assert await nothing_more(groom_ws, "typing")
    assert await database_sync_to_async(Message.objects.count)() == 0
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_read_receipts_reach_the_sender_unless_turned_off():
    bride, groom, conversation = await pair()
    groom_ws, bride_ws = await socket_for(groom), await socket_for(bride)
    await groom_ws.send_json_to(send_frame(conversation, client_id="r1"))
    message = (await frames_until(bride_ws, "message.new"))["message"]

    await bride_ws.send_json_to(
        {"type": "read", "conversation_id": str(conversation.pk), "up_to_id": message["id"]}
    )
    receipt = await frames_until(groom_ws, "read")
    await database_sync_to_async(services.settings_update)(
        user=bride.user, changes={"read_receipts": False}
    )
    await groom_ws.send_json_to(send_frame(conversation, client_id="r2"))
    second = (await frames_until(bride_ws, "message.new"))["message"]
    await bride_ws.send_json_to(
        {"type": "read", "conversation_id": str(conversation.pk), "up_to_id": second["id"]}
    )

    assert receipt["user_id"] == str(bride.user_id) and receipt["up_to_id"] == message["id"]
    assert await nothing_more(groom_ws, "read")
    await groom_ws.disconnect()
    await bride_ws.disconnect()


async def test_presence_goes_to_contacts_online_then_last_seen():
    bride, groom, _conversation = await pair()
    groom_ws = await socket_for(groom)
    snapshot = await frames_until(groom_ws, "presence")  # contacts' presence on connecting

    bride_ws = await socket_for(bride)
    online = await frames_until(groom_ws, "presence")
    contact_on_connect = await frames_until(bride_ws, "presence")
    await bride_ws.disconnect()
    offline = await frames_until(groom_ws, "presence")

    assert online == {
        "type": "presence",
        "user_id": str(bride.user_id),
        "online": True,
        "last_seen": None,
    }
    assert snapshot["user_id"] == str(bride.user_id) and snapshot["online"] is False
    assert contact_on_connect["user_id"] == str(groom.user_id) and contact_on_connect["online"]
    assert offline["online"] is False and offline["last_seen"] is not None
    await groom_ws.disconnect()


async def test_a_member_may_hide_presence():
    bride, groom, _conversation = await pair()
    await database_sync_to_async(services.settings_update)(
        user=bride.user, changes={"show_last_seen": False}
    )
    groom_ws = await socket_for(groom)

    bride_ws = await socket_for(bride)
    await bride_ws.disconnect()

    assert await nothing_more(groom_ws, "presence")
    await groom_ws.disconnect()


async def test_online_only_while_a_device_is_connected():
    bride, _groom, _conversation = await pair()
    phone, tablet = await socket_for(bride), await socket_for(bride)

    assert await database_sync_to_async(selectors.is_online)(bride.user_id)
    await phone.disconnect()
    still = await database_sync_to_async(selectors.is_online)(bride.user_id)
    await tablet.disconnect()
    gone = await database_sync_to_async(selectors.is_online)(bride.user_id)

    assert still and not gone
    assert await database_sync_to_async(Connection.objects.count)() == 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "message.send"}, "invalid"),
        (
            {"type": "message.send", "conversation_id": "nope", "body": "x", "client_id": "x"},
            "invalid",
        ),
        (
            {"type": "message.send", "conversation_id": "CONV", "body": "", "client_id": "x"},
            "invalid",
        ),
        (
            {
                "type": "message.send",
                "conversation_id": "CONV",
                "body": "a" * 4001,
                "client_id": "x",
            },
            "invalid",
        ),
        (
            {
                "type": "message.send",
                "conversation_id": "CONV",
                "body": "hi",
                "client_id": "x",
                "extra": 1,
            },
            "invalid",
        ),
        (
            {"type": "message.send", "conversation_id": "OTHER", "body": "hi", "client_id": "x"},
            "not_found",
        ),
        ({"type": "typing"}, "invalid"),
        ({"type": "read", "conversation_id": "CONV", "up_to_id": "many"}, "invalid"),
        ({"type": "call.invite"}, "unknown_type"),
        ({"type": 7}, "invalid_frame"),
        (["message.send"], "invalid_frame"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(frame, code):
    bride, groom, conversation = await pair()
    other = await database_sync_to_async(services.conversation_open)(
        (await database_sync_to_async(connected_pair_extra)()).user_id, bride.user_id
    )
    if isinstance(frame, dict):
        frame = {
            k: str(conversation.pk) if v == "CONV" else str(other.pk) if v == "OTHER" else v
            for k, v in frame.items()
        }
    groom_ws = await socket_for(groom)

    await groom_ws.send_json_to(frame)
    error = await frames_until(groom_ws, "error")
    await groom_ws.send_json_to({"type": "ping"})
    pong = await frames_until(groom_ws, "pong")

    assert error["code"] == code and error["detail"]
    assert pong == {"type": "pong"}
    assert await database_sync_to_async(Message.objects.count)() == 0
    await groom_ws.disconnect()


def connected_pair_extra():
    from profiles.tests.factories import make_groom

    return make_groom()


async def test_a_block_mid_conversation_refuses_the_next_message():
    bride, groom, conversation = await pair()
    groom_ws = await socket_for(groom)

    await database_sync_to_async(block_create)(blocker=bride.user, blocked=groom.user)
    await groom_ws.send_json_to(send_frame(conversation, client_id="after-block"))
    error = await frames_until(groom_ws, "error")

    assert error["code"] == "not_found"
    assert await database_sync_to_async(Message.objects.count)() == 0
    await groom_ws.disconnect()


async def test_suspension_mid_conversation_closes_the_socket():
    _bride, groom, _conversation = await pair()
    groom_ws = await socket_for(groom)

    await database_sync_to_async(user_set_active)(actor=None, user=groom.user, active=False)

    closing = None
    while closing is None or closing["type"] != "websocket.close":
        closing = await groom_ws.receive_output()
    assert closing == {"type": "websocket.close", "code": 4401}


async def test_an_expired_token_closes_with_4401():
    _bride, groom, _conversation = await pair()
    token = AccessToken.for_user(groom.user)
    token.set_exp(lifetime=timedelta(seconds=2))  # exp is truncated to whole seconds
    ws = WebsocketCommunicator(application, f"/ws/chat?token={token}")
    connected, _ = await ws.connect()

    closing = None
    while closing is None or closing["type"] != "websocket.close":
        closing = await ws.receive_output(timeout=4)

    assert connected
    assert closing == {"type": "websocket.close", "code": 4401}


async def test_after_a_block_neither_presence_nor_receipts_reach_the_other():
    bride, groom, conversation = await pair()
    groom_ws = await socket_for(groom)
    await frames_until(groom_ws, "presence")  # the bride's presence, on connecting
    await groom_ws.send_json_to(send_frame(conversation, client_id="before"))
    message = (await frames_until(groom_ws, "message.ack"))["message"]

    await database_sync_to_async(block_create)(blocker=bride.user, blocked=groom.user)
    bride_ws = await socket_for(bride)
    await bride_ws.send_json_to(
        {"type": "read", "conversation_id": str(conversation.pk), "up_to_id": message["id"]}
    )
    await bride_ws.disconnect()

    assert await nothing_more(groom_ws, "presence")
    assert await nothing_more(groom_ws, "read")
    await groom_ws.disconnect()


@pytest.mark.parametrize(
    "frame",
    [{"bytes": b"\x00\x01"}, {"text": ""}, {"text": "not json"}, {"text": "[" * 100_000}],
)
async def test_binary_empty_and_unreadable_frames_get_an_error_and_the_socket_stays_open(frame):
    _bride, groom, _conversation = await pair()
    ws = await socket_for(groom)

    await ws.send_input({"type": "websocket.receive", **frame})
    error = await frames_until(ws, "error")
    await ws.send_json_to({"type": "ping"})

    assert error["code"] == "invalid_frame"
    assert await frames_until(ws, "pong") == {"type": "pong"}
    await ws.disconnect()


async def test_the_message_rate_limit_holds_over_websocket_too(settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "chat_message": "1/m"}
    _bride, groom, conversation = await pair()
    ws = await socket_for(groom)

    await ws.send_json_to(send_frame(conversation, client_id="one"))
    await frames_until(ws, "message.ack")
    await ws.send_json_to(send_frame(conversation, client_id="two"))
    refused = await frames_until(ws, "error")

    assert refused["code"] == "rate_limited"
    assert await database_sync_to_async(Message.objects.count)() == 1
    await ws.disconnect()


async def test_an_auth_frame_with_a_fresh_token_keeps_the_socket_open():
    bride, groom, _conversation = await pair()
    short = AccessToken.for_user(groom.user)
    # exp is whole seconds: a 1 s lifetime may leave almost nothing on a slow CI machine
    short.set_exp(lifetime=timedelta(seconds=4))
    ws = WebsocketCommunicator(application, f"/ws/chat?token={short}")
    await ws.connect()

    fresh = str(AccessToken.for_user(groom.user))
    await ws.send_json_to({"type": "auth", "token": str(AccessToken.for_user(bride.user))})
    not_mine = await frames_until(ws, "error")
    await ws.send_json_to({"type": "auth", "token": fresh})
    renewed = await frames_until(ws, "auth.ok")
    await asyncio.sleep(max(0.0, short["exp"] - time.time()) + 0.5)  # past the first expiry
    await ws.send_json_to({"type": "ping"})

    assert not_mine["code"] == "invalid_token"
    assert renewed["expires_at"] > time.time() + 60
    assert await frames_until(ws, "pong") == {"type": "pong"}
    await ws.disconnect()


async def test_a_stranger_never_hears_presence():
    bride, _groom, _conversation = await pair()
    stranger = await database_sync_to_async(make_groom)()
    stranger_ws = await socket_for(stranger)

    bride_ws = await socket_for(bride)
    await bride_ws.disconnect()

    assert await nothing_more(stranger_ws, "presence")
    await stranger_ws.disconnect()


async def test_a_message_may_name_the_recipient_by_profile_code():
    bride, groom, _conversation = await pair()
    ws = await socket_for(groom)

    await ws.send_json_to(
        {
            "type": "message.send",
            "recipient_id": bride.user.profile_code,
            "body": "By code",
            "client_id": "code-1",
        }
    )
    ack = await frames_until(ws, "message.ack")

    assert ack["message"]["body"] == "By code"
    await ws.disconnect()


async def test_members_of_a_server_that_died_go_offline_for_their_contacts():
    bride, groom, _conversation = await pair()
    groom_ws = await socket_for(groom)
    await frames_until(groom_ws, "presence")  # the bride, offline, on connecting
    gone = timezone.now() - timedelta(minutes=10)
    await database_sync_to_async(Connection.objects.create)(
        channel_name="dead.server!1", user=bride.user, server="dead", seen_at=gone
    )

    await database_sync_to_async(services.connections_refresh)(server="alive")
    offline = await frames_until(groom_ws, "presence")

    assert offline["user_id"] == str(bride.user_id) and offline["online"] is False
    assert offline["last_seen"] == gone.isoformat()
    assert not await database_sync_to_async(Connection.objects.filter(user=bride.user).exists)()
    await groom_ws.disconnect()
