from __future__ import annotations

import asyncio

import pytest

from aurum import events

pytestmark = pytest.mark.asyncio


async def test_a_full_outbox_drops_its_oldest_events(monkeypatch, caplog):
    # Redis away: nothing drains (the drain task has not run yet: nothing here yields).
    monkeypatch.setattr(events, "MAX_OUTBOX", 3)
    loop = asyncio.get_running_loop()
    for n in range(5):
        events._enqueue(loop, ("group_send", f"user.{n}", {"type": "message.new"}))

    outbox = events._outboxes.pop(loop)
    assert [outbox.get_nowait()[1] for _ in range(outbox.qsize())] == ["user.2", "user.3", "user.4"]
    assert caplog.text.count("outbox full: dropped message.new") == 2
