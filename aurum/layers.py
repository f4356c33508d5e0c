"""The channel layer Aurum runs on: channels-redis's pub/sub layer, plus `send_many`.

Under chat load a server publishes two events per message; one Redis round trip each, taken
one after the other behind the shard's lock, made publishing the slowest step of a message
(README, "Chat and calls"). `send_many` publishes a run of events in one pipeline per shard:
one round trip, and Redis keeps their order because one connection carries them.

It reaches into the layer's shards (`_get_layer`, `_get_shard`, `_lock`, `_ensure_redis`,
`_redis`), which is why channels-redis is pinned in requirements.txt; the layer's own tests
(aurum/tests/test_layers.py) run on Redis in CI and fail if those move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer

# (method, target, event): method is "send" (target is a channel) or "group_send" (a group).
Item = tuple[str, str, dict[str, Any]]


class PubSubLayer(RedisPubSubChannelLayer):
    async def send_many(self, items: Sequence[Item]) -> None:
        """Every item, in order per target, one pipeline per shard."""
        layer = self._get_layer()
        by_shard: dict[int, tuple[Any, list[tuple[str, bytes]]]] = {}
        for method, target, event in items:
            channel = layer._get_group_channel_name(target) if method == "group_send" else target
            shard = layer._get_shard(channel)
            by_shard.setdefault(id(shard), (shard, []))[1].append((channel, self.serialize(event)))
        failed: Exception | None = None
        for shard, publishes in by_shard.values():
            try:  # a shard that is away keeps only its own events
                async with shard._lock:
                    shard._ensure_redis()
                    pipe = shard._redis.pipeline(transaction=False)
                    for channel, data in publishes:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except Exception as exc:
                failed = failed or exc
        if failed is not None:
            raise failed
