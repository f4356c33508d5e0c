from __future__ import annotations

import asyncio

import pytest
from django.conf import settings

from aurum.layers import PubSubLayer

pytestmark = [pytest.mark.asyncio, pytest.mark.redis]


async def test_send_many_delivers_every_event_in_order_to_groups_and_channels():
    # Events of both kinds, interleaved, in one call: each target hears its own in order.
    layer = PubSubLayer(hosts=[settings.REDIS_URL], prefix="aurum-test-layers")
    member, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("user.member", member)
    await layer.group_add("user.nobody", other)
    items = []
    for n in range(50):
        items.append(("group_send", "user.member", {"type": "message.new", "n": n}))
        items.append(("send", other, {"type": "message.ack", "n": n}))

    await layer.send_many(items)
    to_member = [await asyncio.wait_for(layer.receive(member), 2) for _ in range(50)]
    to_other = [await asyncio.wait_for(layer.receive(other), 2) for _ in range(50)]

    assert [event["n"] for event in to_member] == list(range(50))
    assert [event["n"] for event in to_other] == list(range(50))
    assert {event["type"] for event in to_member} == {"message.new"}
    await layer.flush()
