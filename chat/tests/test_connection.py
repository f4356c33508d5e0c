"""The member's live connection: JWT from ?token=, origin check, 4401, ping/pong."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from accounts.services import tokens_issue
from accounts.tests.factories import UserFactory
from aurum.asgi import application
from aurum.ws import origin_checked

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def member_token(**kwargs) -> str:
    return tokens_issue(user=UserFactory(**kwargs)).access_token


def communicator(query: str = "", origin: bytes | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", origin)] if origin else []
    return WebsocketCommunicator(application, f"/ws/chat{query}", headers=headers)


async def test_member_connects_and_gets_pong():
    token = await member_token()
    ws = communicator(f"?token={token}", origin=b"http://localhost")

    connected, _ = await ws.connect()
    await ws.send_json_to({"type": "ping"})
    reply = await ws.receive_json_from()

    assert connected
    assert reply == {"type": "pong"}
    await ws.disconnect()


async def test_native_app_without_origin_connects():
    token = await member_token()
    ws = communicator(f"?token={token}")

    connected, _ = await ws.connect()

    assert connected
    await ws.disconnect()


@pytest.mark.parametrize("query", ["", "?token=", "?token=garbage", "?token=a.b.c"])
async def test_missing_or_bad_token_closes_with_4401(query):
    ws = communicator(query)

    connected, _ = await ws.connect()
    closing = await ws.receive_output()

    assert connected  # accepted only to carry the close code the apps act on
    assert closing == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()  # ends the consumer: a test leaves nothing on the layer or pool


async def test_refresh_token_is_not_accepted():
    user = await database_sync_to_async(UserFactory)()
    refresh = await database_sync_to_async(lambda: tokens_issue(user=user).refresh_token)()
    ws = communicator(f"?token={refresh}")

    await ws.connect()

    assert await ws.receive_output() == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()


async def test_suspended_member_is_refused():
    token = await member_token(is_active=False)
    ws = communicator(f"?token={token}")

    await ws.connect()

    assert (await ws.receive_output())["code"] == 4401
    await ws.disconnect()


async def test_foreign_origin_is_refused():
    token = await member_token()
    ws = communicator(f"?token={token}", origin=b"https://evil.example")

    connected, _ = await ws.connect()

    assert not connected
    await ws.disconnect()


async def test_suspension_closes_the_members_open_sockets():
    from accounts.services import user_set_active

    user = await database_sync_to_async(UserFactory)()
    token = await database_sync_to_async(lambda: tokens_issue(user=user).access_token)()
    phone, tablet = communicator(f"?token={token}"), communicator(f"?token={token}")
    assert (await phone.connect())[0] and (await tablet.connect())[0]

    await database_sync_to_async(user_set_active)(actor=None, user=user, active=False)

    assert await phone.receive_output() == {"type": "websocket.close", "code": 4401}
    assert await tablet.receive_output() == {"type": "websocket.close", "code": 4401}
    await phone.disconnect()
    await tablet.disconnect()


async def test_bad_frames_get_an_error_frame():
    token = await member_token()
    ws = communicator(f"?token={token}")
    await ws.connect()

    await ws.send_to(text_data="{not json")
    bad_json = await ws.receive_json_from()
    await ws.send_json_to({"type": "teleport"})
    unknown = await ws.receive_json_from()

    assert bad_json["type"] == "error" and bad_json["code"] == "invalid_frame"
    assert unknown == {
        "type": "error",
        "code": "unknown_type",
        "detail": "Unknown frame type: 'teleport'.",
    }
    await ws.disconnect()


@pytest.mark.parametrize(
    "origin", [b"http://127.0.0.1:8000", b"http://localhost:5173", b"https://[::1]:8443"]
)
async def test_a_page_the_server_serves_on_any_port_connects(origin):
    token = await member_token()
    ws = communicator(f"?token={token}", origin=origin)

    connected, _ = await ws.connect()

    assert connected
    await ws.disconnect()


class Accepting(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()


@pytest.mark.parametrize(
    ("origin", "connects"),
    [
        (b"https://app.aurum.example", True),  # a CORS origin, whole
        (b"https://app.aurum.example:8443", False),  # not that origin: another port
        (b"http://app.aurum.example", False),  # nor another scheme
        (b"https://api.aurum.example:8443", True),  # an allowed host, on any port
        (b"https://eu.api.aurum.example", True),  # or a subdomain of a ".host" entry
        (b"https://api.aurum.example.evil.example", False),
        (b"https://evil.example", False),
        (b"null", False),  # a sandboxed page or a file
    ],
)
async def test_origins_match_cors_origins_whole_and_allowed_hosts_by_host(
    settings, origin, connects
):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.aurum.example"]
    settings.ALLOWED_HOSTS = ["api.aurum.example", ".api.aurum.example"]
    app = origin_checked(Accepting.as_asgi())
    ws = WebsocketCommunicator(app, "/ws/chat", headers=[(b"origin", origin)])

    connected, _ = await ws.connect()

    assert connected is connects
    await ws.disconnect()  # a refused socket's consumer too, or it lingers on the layer
