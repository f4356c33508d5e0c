"""On PostgreSQL a consumer's database calls take a pooled connection in a worker thread and
give it back when the call ends, so open sockets hold none between frames and a process's
pool serves its sockets and its requests alike. The sockets here wait as a server does (the
root conftest's `_communicators_close_connections`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from chat.tests.helpers import connected_pair, frames_until, socket_for

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

pair = database_sync_to_async(connected_pair)


def in_use(pool: Any) -> int:
    stats = pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


async def settles(pool: Any, baseline: int, within: float = 3.0) -> int:
    """The pool's connections in use once they come back to `baseline`, or after `within`
    seconds (a connection the pool is still opening counts in its size until it is ready)."""
    deadline = time.monotonic() + within
    while in_use(pool) != baseline and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return in_use(pool)


async def test_sockets_hold_no_pooled_connection_between_frames_nor_after_they_close():
    bride, groom, conversation = await pair()
    pool = connections["default"].pool
    baseline = in_use(pool)

    groom_ws, bride_ws = await socket_for(groom), await socket_for(bride)
    assert await settles(pool, baseline) == baseline  # open, and counted in Connection

    for n in range(3):
        await groom_ws.send_json_to(
            {
                "type": "message.send",
                "conversation_id": str(conversation.pk),
                "body": f"Namaskaram {n}",
                "client_id": f"c-{n}",
            }
        )
        await frames_until(groom_ws, "message.ack")
        await frames_until(bride_ws, "message.new")
    await groom_ws.send_json_to({"type": "typing", "conversation_id": str(conversation.pk)})
    await frames_until(bride_ws, "typing")
    assert await settles(pool, baseline) == baseline

    await groom_ws.disconnect()
    await bride_ws.disconnect()
    assert await settles(pool, baseline) == baseline
