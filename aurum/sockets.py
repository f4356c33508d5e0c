"""Kernel pieces of the WebSocket consumers: their close codes, error frames (the one place a
domain error becomes a frame) and a dispatch that stays off the shared sync thread. The ASGI
wiring (authentication from `?token=`, the origin check) is `aurum.ws`."""

from __future__ import annotations

import math
from typing import Any

from channels.consumer import get_handler_name

from aurum.errors import DomainError, RateLimited

WS_UNAUTHORIZED = 4401
# The member has CHAT_MAX_SOCKETS sockets open already (as HTTP's 429): close one, or retry.
WS_TOO_MANY_CONNECTIONS = 4429


def error_frame(code: str, detail: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail}


def domain_error_frame(exc: DomainError) -> dict[str, Any]:
    """A refusal as the device hears it: the same `code` and `detail` as over HTTP, and
    `retry_after` (whole seconds) when a limit says when to try again."""
    frame = error_frame(exc.code, exc.detail)
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        frame["retry_after"] = max(1, math.ceil(exc.retry_after))
    return frame


class DatabaseOffLoop:
    """For consumers whose handlers reach the database only through `database_sync_to_async`
    (which closes stale connections itself, in the thread that uses them): Channels' own
    `dispatch` also closes them before *every* frame and event, a hop to the shared sync
    thread and back each time, which under chat load cost more than the frame itself."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
