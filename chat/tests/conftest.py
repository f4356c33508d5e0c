from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest_asyncio
from channels.layers import channel_layers


@pytest_asyncio.fixture(autouse=True)
async def _fresh_channel_layer() -> AsyncIterator[None]:
    """Each test runs on its own event loop; channels-redis keeps locks and connections bound
    to the loop that first used them, so every test gets a new layer, flushed (its Redis
    connections closed) on that loop before the loop goes."""
    channel_layers.backends.clear()
    yield
    for layer in list(channel_layers.backends.values()):
        if hasattr(layer, "flush"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(layer.flush(), timeout=5)
    channel_layers.backends.clear()
