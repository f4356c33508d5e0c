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
    events._dropped.pop(loop)
    for task in asyncio.all_tasks():  # the outbox's drain, which never ran
        if task.get_coro().__name__ == "_drain":
            task.cancel()
    assert [outbox.get_nowait()[1] for _ in range(outbox.qsize())] == ["user.2", "user.3", "user.4"]
    # two dropped, one line: an outage must not flood the log
    assert caplog.text.count("outbox full") == 1
    assert "outbox full: 1 live events dropped so far" in caplog.text
