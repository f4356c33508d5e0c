"""How Aurum scales out: two real server processes sharing PostgreSQL and the Redis channel
layer; a member connected to one hears a message sent through the other. And the race that
matters most: one `client_id` sent twice at once stores one message."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import websockets
from django.conf import settings
from django.db import connection

from bench.common import uvicorn
from chat import services
from chat.models import Message
from chat.tests.helpers import connected_pair, token_for


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


async def _next(ws: websockets.ClientConnection, kind: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame["type"] == kind:
            return frame


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_member_on_one_server_hears_a_message_sent_through_another():
    bride, groom, conversation = connected_pair()
    bride_token, groom_token = token_for(bride), token_for(groom)
    env = {
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "AURUM_ENV": "dev",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }

    async def scenario(one: int, two: int) -> tuple[dict, dict]:
        async with (
            websockets.connect(f"ws://127.0.0.1:{one}/ws/chat?token={bride_token}") as bride_ws,
            websockets.connect(f"ws://127.0.0.1:{two}/ws/chat?token={groom_token}") as groom_ws,
        ):
            await _next(groom_ws, "presence")  # connected, and told the bride is online
            frame = {
                "type": "message.send",
                "conversation_id": str(conversation.pk),
                "body": "From the other server",
                "client_id": "scale-1",
            }
            await groom_ws.send(json.dumps(frame))
            return await _next(bride_ws, "message.new"), await _next(groom_ws, "message.ack")

    with uvicorn(env) as one, uvicorn(env) as two:
        new, ack = asyncio.run(scenario(one, two))

    assert new["message"]["body"] == "From the other server"
    assert new["message"] == ack["message"]
    assert Message.objects.get().id == new["message"]["id"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_client_id_sent_twice_at_once_stores_one_message():
    _bride, groom, conversation = connected_pair()
    barrier = threading.Barrier(2)
    results: list[tuple[int, bool]] = []

    def go() -> None:
        barrier.wait()
        try:
            message, created = services.message_send(
                sender=groom.user,
                body="once",
                client_id="racing",
                conversation_id=conversation.pk,
            )
            results.append((message.id, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Message.objects.count() == 1
    assert sorted(created for _, created in results) == [False, True]
    assert len({message_id for message_id, _ in results}) == 1
