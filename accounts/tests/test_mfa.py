from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditAction, AuditLog
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

QR = "/api/v1/auth/mfa/qrcode"
CONFIRM = "/api/v1/auth/mfa/confirm"
DISABLE = "/api/v1/auth/mfa/disable"
LOGIN = "/api/v1/auth/login"


def code_for(device: TOTPDevice, drift: int = 0) -> str:
    """A real TOTP code, as an authenticator app would show it (drift in 30 s steps)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"


@pytest.fixture
def mfa_user(client_for):
    user = UserFactory()
    client = client_for(user)
    client.get(QR)
    device = TOTPDevice.objects.get(user=user)
    assert (
        client.post(
            CONFIRM, {"code": code_for(device), "password": PASSWORD}, format="json"
        ).status_code
        == 204
    )
    device.refresh_from_db()
    return user, device


def test_qrcode_is_a_png_with_the_otpauth_uri(client_for):
    user = UserFactory()

    response = client_for(user).get(QR)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    uri = urlparse(response["X-OTPAuth-URI"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["issuer"] == ["Aurum"]
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    assert response["Cache-Control"] == "no-store"


def test_qrcode_accepts_png_accept_header(client_for):
    response = client_for(UserFactory()).get(QR, HTTP_ACCEPT="image/png")

    assert response.status_code == 200


def test_qrcode_again_replaces_the_unconfirmed_device(client_for):
    user = UserFactory()
    client = client_for(user)

    client.get(QR)
    client.get(QR)

    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_confirm_turns_mfa_on(mfa_user, client_for):
    user, device = mfa_user

    assert device.confirmed is True
    assert client_for(user).get("/api/v1/auth/me").json()["mfa_enabled"] is True
    assert AuditLog.objects.filter(action=AuditAction.MFA_ENABLED, actor=user).exists()


def test_confirm_with_wrong_code_leaves_mfa_off(client_for):
    user = UserFactory()
    client = client_for(user)
    client.get(QR)
    device = TOTPDevice.objects.get(user=user)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(CONFIRM, {"code": wrong, "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "mfa_invalid"
    assert TOTPDevice.objects.get(user=user).confirmed is False


def test_confirm_without_qrcode_first_is_400(client_for):
    response = client_for(UserFactory()).post(
        CONFIRM, {"code": "123456", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "mfa_not_started"


def test_qrcode_when_mfa_is_on_is_409(mfa_user, client_for):
    user, _ = mfa_user

    assert client_for(user).get(QR).status_code == 409


def test_login_needs_the_code_when_mfa_is_on(api, mfa_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, device = mfa_user
    body = {"identifier": user.email, "password": PASSWORD}

    missing = api.post(LOGIN, body, format="json")
    wrong = api.post(LOGIN, {**body, "mfa_code": "000000"}, format="json")
    right = api.post(LOGIN, {**body, "mfa_code": code_after_last(device)}, format="json")

    assert missing.status_code == 401 and missing.json()["code"] == "mfa_required"
    assert wrong.status_code == 401 and wrong.json()["code"] == "mfa_invalid"
    assert right.status_code == 200, right.content
    assert "access_token" not in missing.json() and "access_token" not in wrong.json()


def code_after_last(device: TOTPDevice) -> str:
    """The code of the step after the device's last used one: valid whatever step the clock
    has reached meanwhile (within the device's tolerance), unlike a code for 'now + 1', which
    a step boundary crossed between confirming and logging in can make the wrong one."""
    from django_otp.oath import TOTP

    generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
    generator.time = device.t0 + (device.last_t + 1) * device.step
    return f"{generator.token():06d}"


def test_a_used_code_cannot_log_in_again(api, mfa_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, device = mfa_user
    body = {"identifier": user.email, "password": PASSWORD, "mfa_code": code_after_last(device)}

    assert api.post(LOGIN, body, format="json").status_code == 200
    assert api.post(LOGIN, body, format="json").json()["code"] == "mfa_invalid"


def test_phone_otp_login_needs_the_mfa_code_and_keeps_the_sms_code_until_then(
    api, mfa_user, outbox
):
    user, device = mfa_user
    api.post("/api/v1/auth/otp/send", {"phone": user.phone}, format="json")
    code = outbox[-1]["text"][:6]
    verify = "/api/v1/auth/otp/verify"

    missing = api.post(verify, {"phone": user.phone, "code": code}, format="json")
    both = api.post(
        verify,
        {"phone": user.phone, "code": code, "mfa_code": code_after_last(device)},
        format="json",
    )

    assert missing.status_code == 401
    assert missing.json()["code"] == "mfa_required"
    assert both.status_code == 200, both.content
    assert both.json()["user"]["mfa_enabled"] is True


def test_a_stolen_access_token_alone_cannot_turn_mfa_on(client_for, api):
    """A thief with a token would otherwise set up their own authenticator and lock the
    member out of every later login."""
    user = UserFactory()
    thief = client_for(user)
    thief.get(QR)
    device = TOTPDevice.objects.get(user=user)

    no_password = thief.post(CONFIRM, {"code": code_for(device)}, format="json")
    guessed = thief.post(
        CONFIRM, {"code": code_for(device), "password": "a-guess-at-it-9"}, format="json"
    )

    assert no_password.status_code == 400 and "password" in no_password.json()["fields"]
    assert guessed.status_code == 400 and "password" in guessed.json()["fields"]
    assert TOTPDevice.objects.get(user=user).confirmed is False
    login = api.post(LOGIN, {"identifier": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200


def test_turning_mfa_on_ends_no_session(client_for, api):
    from accounts.services import tokens_issue

    user = UserFactory()
    other = tokens_issue(user=user)
    client = client_for(user)
    client.get(QR)
    device = TOTPDevice.objects.get(user=user)

    done = client.post(CONFIRM, {"code": code_for(device), "password": PASSWORD}, format="json")

    assert done.status_code == 204
    kept = api.post("/api/v1/auth/refresh", {"refresh_token": other.refresh_token}, format="json")
    assert kept.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {other.access_token}")
    assert api.get("/api/v1/auth/me").status_code == 200


def test_null_mfa_code_is_treated_as_absent(api, mfa_user):
    user, _ = mfa_user

    response = api.post(
        LOGIN, {"identifier": user.email, "password": PASSWORD, "mfa_code": None}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


def test_qrcode_errors_are_json_even_when_png_was_asked_for(mfa_user, client_for):
    user, _ = mfa_user

    response = client_for(user).get(QR, HTTP_ACCEPT="image/png")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "mfa_already_enabled"


def test_disable_needs_code_and_password(mfa_user, client_for, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user, device = mfa_user
    client = client_for(user)

    no_password = client.post(DISABLE, {"code": code_for(device, 1)}, format="json")
    bad_password = client.post(
        DISABLE, {"code": code_for(device, 1), "password": "wrong-one-here"}, format="json"
    )
    done = client.post(DISABLE, {"code": code_for(device, 1), "password": PASSWORD}, format="json")

    assert no_password.status_code == 400 and "password" in no_password.json()["fields"]
    assert bad_password.status_code == 400 and bad_password.json()["code"] == "invalid_password"
    assert done.status_code == 204
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditLog.objects.filter(action=AuditAction.MFA_DISABLED, actor=user).exists()


def test_mfa_endpoints_need_a_token(api):
    assert api.get(QR).status_code == 401
    assert api.post(CONFIRM, {"code": "123456"}, format="json").status_code == 401
    assert api.post(DISABLE, {"code": "123456", "password": "x"}, format="json").status_code == 401


def test_otpauth_label_names_a_phone_only_member(client_for):
    user = UserFactory(email=None, phone="+919847012345")

    uri = client_for(user).get(QR)["X-OTPAuth-URI"]

    assert uri.startswith("otpauth://totp/Aurum%3A%2B919847012345?")
