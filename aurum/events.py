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


def _after_commit(send: str, target: str, event: dict[str, Any]) -> None:
    def run() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(getattr(layer, send))(target, event)
        except Exception:  # a live frame is best effort; the data is already committed
            logger.exception("could not send %s to %s", event.get("type"), target)

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
