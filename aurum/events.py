"""Real-time events: sent to a member's devices only after the transaction commits.

The database is the source of truth; the channel layer may drop a frame, so every client can
catch up over HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger("aurum.events")


def user_group(user_id: Any) -> str:
    return f"user.{user_id}"


def send_to_user(user_id: Any, event: dict[str, Any]) -> None:
    """Queue `event` for every connection of the member, once the current transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(user_group(user_id), event)
        except Exception:  # a live frame is best effort; the data is already committed
            logger.exception("could not send %s to user %s", event.get("type"), user_id)

    transaction.on_commit(send)
