"""Request bodies past REQUEST_MAX_BODY_BYTES answer 413 in the API's error shape before the
app reads them.

An announced Content-Length over the limit is refused without reading a byte of the body; a
body without one (chunked) is counted as it arrives and, once past the limit, the app is told
the client left and the answer is the same 413. uvicorn, which every shipped server runs
(`make run`, the Dockerfile, docker-compose, deploy/systemd), reads a body only as fast as the
app asks for it and drops what follows a finished answer, so this bounds its memory. daphne
is not a shipped server for that reason: Twisted receives and parses a whole body before the
app runs (an anonymous 64 MB multipart POST cost it about 900 MB).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Django's own 413 (aurum.api_errors) says the same. Sent from here, below Django.
TOO_LARGE = {"detail": "The request body is too large.", "code": "too_large"}
TOO_LARGE_BODY = json.dumps(TOO_LARGE).encode()


def announced_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, or None without a readable one (the server decides)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


async def send_too_large(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(TOO_LARGE_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE_BODY})


class BodyLimitMiddleware:
    """ASGI middleware around the HTTP app (aurum.asgi)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.REQUEST_MAX_BODY_BYTES
        announced = announced_length(scope.get("headers", []))
        if announced is not None and announced > limit:
            await send_too_large(send)
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops reading and answers nothing; the 413 goes out below.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, watched_send)
        if over and not started:
            await send_too_large(send)
