"""Access tokens stop working at once when their session ends (logout, a password change, a
reset), not up to 15 minutes later; and a token says how its login was made (`amr`)."""

from __future__ import annotations

import jwt
import pytest
from channels.testing import WebsocketCommunicator
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import CodePurpose
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_mfa import code_after_last, code_for
from aurum.asgi import application
from aurum.sockets import WS_UNAUTHORIZED

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"


def login(api, user, **extra):
    body = {"identifier": user.email, "password": PASSWORD, **extra}
    response = api.post("/api/v1/auth/login", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def me_with(api, access: str):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api.get(ME)
    api.credentials()
    return response


def test_logout_ends_that_sessions_access_token_now(api):
    user = UserFactory()
    mine, other = login(api, user), login(api, user)

    assert (
        api.post(
            "/api/v1/auth/logout", {"refresh_token": mine["refresh_token"]}, format="json"
        ).status_code
        == 204
    )

    ended = me_with(api, mine["access_token"])
    assert ended.status_code == 401 and ended.json()["code"] == "token_revoked"
    assert me_with(api, other["access_token"]).status_code == 200


def test_a_password_change_ends_the_other_sessions_access_tokens_now(api):
    user = UserFactory()
    mine, other = login(api, user), login(api, user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access_token']}")

    changed = api.post(
        "/api/v1/auth/password/change",
        {"old_password": PASSWORD, "new_password": "Kumarakom-houseboat-77"},
        format="json",
    )

    assert changed.status_code == 204
    assert me_with(api, other["access_token"]).status_code == 401
    assert me_with(api, mine["access_token"]).status_code == 200


def test_a_reset_ends_every_sessions_access_tokens_now(api):
    user = UserFactory()
    before = login(api, user)
    code = services.code_issue(user=user, purpose=CodePurpose.PASSWORD_RESET)

    reset = api.post(
        "/api/v1/auth/password/reset/confirm",
        {"identifier": user.email, "code": code, "new_password": "Kumarakom-houseboat-77"},
        format="json",
    )

    assert reset.status_code == 204
    assert me_with(api, before["access_token"]).status_code == 401


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_revoked_sessions_token_opens_no_websocket():
    from asgiref.sync import sync_to_async

    user = await sync_to_async(UserFactory)()
    tokens = await sync_to_async(services.tokens_issue)(user=user)
    await sync_to_async(services.token_logout)(refresh_token=tokens.refresh_token)

    socket = WebsocketCommunicator(application, f"/ws/chat?token={tokens.access_token}")
    connected, _ = await socket.connect()

    assert connected  # accepted only to carry the close code the apps act on
    assert await socket.receive_output() == {"type": "websocket.close", "code": WS_UNAUTHORIZED}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_tokens_say_how_the_login_was_made_and_refresh_keeps_it(api, client_for, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = UserFactory()
    assert claims(login(api, user)["access_token"])["amr"] == ["pwd"]

    client = client_for(user)
    client.get("/api/v1/auth/mfa/qrcode")
    device = TOTPDevice.objects.get(user=user)
    body = {"code": code_for(device), "password": PASSWORD}
    assert client.post("/api/v1/auth/mfa/confirm", body, format="json").status_code == 204
    device.refresh_from_db()
    with_code = login(api, user, mfa_code=code_after_last(device))
    refreshed = api.post(
        "/api/v1/auth/refresh", {"refresh_token": with_code["refresh_token"]}, format="json"
    ).json()

    assert claims(with_code["access_token"])["amr"] == ["pwd", "otp"]
    assert claims(refreshed["access_token"])["amr"] == ["pwd", "otp"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_ended_session_closes_its_sockets_and_only_its_own():
    from asgiref.sync import sync_to_async

    user = await sync_to_async(UserFactory)()
    ending = await sync_to_async(services.tokens_issue)(user=user)
    staying = await sync_to_async(services.tokens_issue)(user=user)
    first = WebsocketCommunicator(application, f"/ws/chat?token={ending.access_token}")
    second = WebsocketCommunicator(application, f"/ws/chat?token={staying.access_token}")
    assert (await first.connect())[0] and (await second.connect())[0]

    await sync_to_async(services.token_logout)(refresh_token=ending.refresh_token)

    assert await first.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": WS_UNAUTHORIZED,
    }
    await second.send_json_to({"type": "ping"})
    assert (await second.receive_json_from(timeout=3))["type"] == "pong"
    await second.disconnect()
