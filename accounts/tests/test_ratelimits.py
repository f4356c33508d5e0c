from __future__ import annotations

import pytest

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"


def assert_429(response):
    assert response.status_code == 429, response.content
    assert response.json() == {
        "detail": "Too many requests. Try again later.",
        "code": "rate_limited",
    }
    assert int(response["Retry-After"]) >= 1


def test_login_is_limited_per_account(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "login_identifier": "3/15m"}
    user = UserFactory()
    wrong = {"identifier": user.email, "password": "not-the-password"}

    failures = [api.post(LOGIN, wrong, format="json").status_code for _ in range(3)]
    blocked = api.post(LOGIN, {"identifier": user.email, "password": PASSWORD}, format="json")

    assert failures == [401, 401, 401]
    assert_429(blocked)
    assert "access_token" not in blocked.json()


def test_login_limit_counts_the_account_whatever_identifier_is_used(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "login_identifier": "4/15m"}
    user = UserFactory(email="anjali@example.com", phone="+919847012345")

    answers = [
        api.post(LOGIN, {"identifier": who, "password": "nope-nope"}, format="json").status_code
        for who in ["anjali@example.com", "ANJALI@example.com", "9847012345", "+91 98470 12345"]
    ]
    blocked = api.post(LOGIN, {"identifier": user.phone, "password": PASSWORD}, format="json")

    assert answers == [401] * 4
    assert_429(blocked)


def test_unknown_accounts_are_limited_too(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "login_identifier": "2/15m"}
    body = {"identifier": "ghost@example.com", "password": "whatever-it-is"}

    answers = [api.post(LOGIN, body, format="json").status_code for _ in range(3)]

    assert answers == [401, 401, 429]


def test_login_limit_per_address_is_separate_and_looser(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "login_ip": "4/15m"}
    users = UserFactory.create_batch(5)

    answers = [
        api.post(LOGIN, {"identifier": u.email, "password": PASSWORD}, format="json").status_code
        for u in users
    ]

    assert answers == [200, 200, 200, 200, 429]


def test_otp_send_is_limited_per_phone(api, settings, outbox):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "otp_send_phone_hour": "3/h"}
    UserFactory(phone="+919847012345")

    answers = [
        api.post("/api/v1/auth/otp/send", {"phone": "+919847012345"}, format="json")
        for _ in range(4)
    ]

    assert [r.status_code for r in answers] == [202, 202, 202, 429]
    assert_429(answers[-1])
    assert len(outbox) == 3  # the refused request sent no SMS


def test_otp_send_daily_limit(api, settings):
    settings.AURUM_RATE_LIMITS = {
        **settings.AURUM_RATE_LIMITS,
        "otp_send_phone_hour": "100/h",
        "otp_send_phone_day": "2/d",
    }

    answers = [
        api.post("/api/v1/auth/otp/send", {"phone": "+919847012345"}, format="json").status_code
        for _ in range(3)
    ]

    assert answers == [202, 202, 429]


def test_otp_verify_is_limited_per_phone(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "code_verify_identifier": "2/h"}
    body = {"phone": "+919847012345", "code": "123456"}

    answers = [
        api.post("/api/v1/auth/otp/verify", body, format="json").status_code for _ in range(3)
    ]

    assert answers == [401, 401, 429]


def test_register_is_limited_per_address(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "register_ip": "2/h"}

    answers = [
        api.post(
            "/api/v1/auth/register",
            {"email": f"m{i}@example.com", "password": PASSWORD, "first_name": "M"},
            format="json",
        ).status_code
        for i in range(3)
    ]

    assert answers == [201, 201, 429]


def test_password_reset_request_is_limited_per_identifier(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "password_reset_identifier": "2/h"}
    body = {"identifier": "someone@example.com"}

    answers = [
        api.post("/api/v1/auth/password/reset/request", body, format="json").status_code
        for _ in range(3)
    ]

    assert answers == [202, 202, 429]


def test_password_reset_by_phone_shares_the_sms_budget(api, settings, outbox):
    settings.AURUM_RATE_LIMITS = {
        **settings.AURUM_RATE_LIMITS,
        "otp_send_phone_hour": "2/h",
        "password_reset_identifier": "100/h",
    }
    UserFactory(phone="+919847012345")

    login_code = api.post("/api/v1/auth/otp/send", {"phone": "+919847012345"}, format="json")
    reset_codes = [
        api.post(
            "/api/v1/auth/password/reset/request", {"identifier": "9847012345"}, format="json"
        ).status_code
        for _ in range(2)
    ]

    assert login_code.status_code == 202
    assert reset_codes == [202, 429]
    assert len(outbox) == 2


def test_reset_confirm_is_limited_per_account(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "code_verify_identifier": "2/h"}
    user = UserFactory(email="anjali@example.com", phone="+919847012345")
    confirm = "/api/v1/auth/password/reset/confirm"

    answers = [
        api.post(
            confirm,
            {"identifier": who, "code": "123456", "new_password": "Some-long-passphrase-1"},
            format="json",
        ).status_code
        for who in [user.email, "9847012345", user.email]
    ]

    assert answers == [400, 400, 429]


def test_mfa_confirm_is_limited_per_member(client_for, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "mfa_verify_user": "2/15m"}
    client = client_for(UserFactory())
    client.get("/api/v1/auth/mfa/qrcode")

    answers = [
        client.post(
            "/api/v1/auth/mfa/confirm", {"code": "000000", "password": "x"}, format="json"
        ).status_code
        for _ in range(3)
    ]

    assert answers == [400, 400, 429]


def test_limits_come_from_the_environment(monkeypatch):
    import importlib

    import aurum.settings as module

    monkeypatch.setenv("RATE_LOGIN_IDENTIFIER", "9/7m")
    try:
        reloaded = importlib.reload(module)
        assert reloaded.AURUM_RATE_LIMITS["login_identifier"] == "9/7m"
    finally:
        monkeypatch.delenv("RATE_LOGIN_IDENTIFIER")
        importlib.reload(module)
