"""Real-time events: sent to a member's devices only after the transaction commits.

The database is the source of truth; the channel layer may drop a frame, so every client can
catch up over HTTP.

Inside a server, code runs in worker threads of an event loop (Django views, consumers'
database calls): there an event is handed to that loop's outbox and the thread goes on at
once; one task per loop drains the outbox in the order events were queued (a thread queues
its events right after its own commit; chat sends, written by one batch at a time per
process, so leave in commit order). Outside a server (management commands, tests) the event
is sent before the call returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from aurum import metrics

logger = logging.getLogger("aurum.events")

Item = tuple[str, str, dict[str, Any]]
MAX_RUN = 500  # events published together at most
# Events waiting in a server's outbox at most: while Redis is away (or publishing falls behind)
# they pile up; past this the oldest go (a live frame is best effort; apps catch up from the
# database).
MAX_OUTBOX = 20_000
_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue[Item]] = (
    weakref.WeakKeyDictionary()
)
_dropped: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


def user_group(user_id: Any) -> str:
    return f"user.{user_id}"


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this worker thread serves, if any."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


async def _send(item: Item) -> None:
    method, target, event = item
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await getattr(layer, method)(target, event)
    except Exception:  # a live frame is best effort; the data is already committed
        logger.exception("could not send %s to %s", event.get("type"), target)


async def _send_run(items: list[Item]) -> None:
    layer = get_channel_layer()
    send_many = getattr(layer, "send_many", None)
    if send_many is None:
        for item in items:
            await _send(item)
        return
    try:
        await send_many(items)
    except Exception:  # a live frame is best effort; the data is already committed
        logger.exception("could not send %d events", len(items))


async def _drain(outbox: asyncio.Queue[Item]) -> None:
    """Everything queued meanwhile goes together (`aurum.layers.PubSubLayer.send_many`: one
    Redis round trip, in order), so a busy server publishes in runs, not one by one."""
    while True:
        items = [await outbox.get()]
        while not outbox.empty() and len(items) < MAX_RUN:
            items.append(outbox.get_nowait())
        metrics.EVENTS_OUTBOX.dec(len(items))  # once a run, not once an event
        await _send_run(items)


def _enqueue(loop: asyncio.AbstractEventLoop, item: Item) -> None:
    outbox = _outboxes.get(loop)
    if outbox is None:
        outbox = _outboxes[loop] = asyncio.Queue()
        loop.create_task(_drain(outbox))
    if outbox.qsize() >= MAX_OUTBOX:
        outbox.get_nowait()  # one out, one in: the outbox's size stays
        metrics.EVENTS_DROPPED.inc()
        dropped = _dropped[loop] = _dropped.get(loop, 0) + 1
        if dropped == 1 or dropped % 10_000 == 0:  # a line, not one per event of an outage
            logger.warning("outbox full: %d live events dropped so far, oldest first", dropped)
    else:
        metrics.EVENTS_OUTBOX.inc()
    outbox.put_nowait(item)


def _after_commit(method: str, target: str, event: dict[str, Any]) -> None:
    def run() -> None:
        loop = _server_loop()
        if loop is None:
            async_to_sync(_send)((method, target, event))
        else:
            loop.call_soon_threadsafe(_enqueue, loop, (method, target, event))

    transaction.on_commit(run)


def send_to_group(group: str, event: dict[str, Any]) -> None:
    """Queue `event` for every connection in `group`, once the current transaction commits."""
    _after_commit("group_send", group, event)


def send_to_channel(channel_name: str, event: dict[str, Any]) -> None:
    """Queue `event` for one connection, once the current transaction commits."""
    _after_commit("send", channel_name, event)


def send_to_user(user_id: Any, event: dict[str, Any]) -> None:
    """Queue `event` for every chat connection of the member, once the transaction commits."""
    send_to_group(user_group(user_id), event)
