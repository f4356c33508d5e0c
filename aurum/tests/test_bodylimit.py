"""aurum.bodylimit at its edge: a body of exactly REQUEST_MAX_BODY_BYTES reaches the app, one
byte more is a 413 in the API's shape, announced or chunked, and WebSockets pass untouched.
(aurum/tests/test_servers.py sends the same through the shipped server.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.conf import settings

from aurum.bodylimit import TOO_LARGE, BodyLimitMiddleware


class ReadsItsBody:
    """An ASGI app that reads the whole body as Django does, then answers with its length."""

    def __init__(self) -> None:
        self.read = 0
        self.scopes: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope["type"])
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # Django's RequestAborted: no answer
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.read).encode()})


def call(size: int, *, announce: bool, piece: int = 1 << 20) -> tuple[int, bytes, ReadsItsBody]:
    app = ReadsItsBody()
    headers = [(b"content-type", b"application/octet-stream")]
    if announce:
        headers.append((b"content-length", str(size).encode()))
    pieces = [piece] * (size // piece) + ([size % piece] if size % piece else [])
    messages = [
        {"type": "http.request", "body": b"x" * n, "more_body": i < len(pieces) - 1}
        for i, n in enumerate(pieces)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the client sends nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/media/upload", "headers": headers}
    asyncio.run(BodyLimitMiddleware(app)(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, app


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_reaches_the_app(announce):
    limit = settings.REQUEST_MAX_BODY_BYTES

    status, body, _ = call(limit, announce=announce)

    assert (status, int(body)) == (200, limit)


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
def test_one_byte_over_the_limit_is_a_413_in_the_api_shape(announce):
    status, body, app = call(settings.REQUEST_MAX_BODY_BYTES + 1, announce=announce)

    assert (status, json.loads(body)) == (413, TOO_LARGE)
    if announce:
        assert app.scopes == []  # refused before the app ran, not a byte read


def test_the_limit_is_the_photo_upload_limit_and_its_multipart_envelope():
    assert settings.REQUEST_MAX_BODY_BYTES == (
        settings.MEDIA_MAX_UPLOAD_BYTES + settings.MEDIA_UPLOAD_ENVELOPE_BYTES
    )


def test_websockets_pass_untouched():
    app = ReadsItsBody()

    async def never() -> dict[str, Any]:
        raise AssertionError("the guard read a WebSocket")

    asyncio.run(BodyLimitMiddleware(app)({"type": "websocket", "headers": []}, never, never))

    assert app.scopes == ["websocket"]
