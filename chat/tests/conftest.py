from __future__ import annotations

from collections.abc import Iterator

import pytest
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Each test runs on its own event loop; channels-redis's layer keeps locks and
    connections bound to the loop that first used it, so every test gets a new layer."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
