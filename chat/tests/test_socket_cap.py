"""At most CHAT_MAX_SOCKETS open sockets per member across /ws/chat and /ws/call: the one over
the cap is accepted and closed at once with 4429, and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from aurum.asgi import application
from chat.models import Connection
from chat.tests.helpers import connected_pair, frames_until, token_for

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

pair = database_sync_to_async(connected_pair)


async def connect(profile, path: str) -> WebsocketCommunicator:
    token = await database_sync_to_async(token_for)(profile)
    ws = WebsocketCommunicator(application, f"{path}?token={token}")
    connected, _ = await ws.connect()
    assert connected  # accepted, if only to say why it closes
    return ws


async def test_a_member_keeps_at_most_the_cap_of_sockets_across_chat_and_call(settings):
    assert settings.CHAT_MAX_SOCKETS == 10
    bride, groom, _conversation = await pair()
    held = [await connect(groom, "/ws/chat") for _ in range(6)]
    held += [await connect(groom, "/ws/call") for _ in range(4)]
    for ws in held:
        await ws.send_json_to({"type": "ping"})
        assert await frames_until(ws, "pong")

    over_chat, over_call = await connect(groom, "/ws/chat"), await connect(groom, "/ws/call")
    someone_else = await connect(bride, "/ws/chat")

    assert await over_chat.receive_output() == {"type": "websocket.close", "code": 4429}
    assert await over_call.receive_output() == {"type": "websocket.close", "code": 4429}
    await someone_else.send_json_to({"type": "ping"})
    assert await frames_until(someone_else, "pong")
    rows = await database_sync_to_async(Connection.objects.filter(user=groom.user).count)()
    assert rows == 10
    await held.pop(0).disconnect()
    again = await connect(groom, "/ws/call")
    await again.send_json_to({"type": "ping"})
    assert await frames_until(again, "pong")
    for ws in [*held, again, someone_else]:
        await ws.disconnect()


async def test_connections_of_a_server_that_died_do_not_count_against_the_cap(settings):
    settings.CHAT_MAX_SOCKETS = 2
    _bride, groom, _conversation = await pair()
    gone = timezone.now() - timedelta(minutes=10)
    for n in range(2):
        await database_sync_to_async(Connection.objects.create)(
            channel_name=f"dead.server!{n}", user=groom.user, server="dead", seen_at=gone
        )

    ws = await connect(groom, "/ws/chat")
    await ws.send_json_to({"type": "ping"})

    assert await frames_until(ws, "pong")
    await ws.disconnect()
