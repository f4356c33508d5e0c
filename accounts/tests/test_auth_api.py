from __future__ import annotations

import json

import pytest

from accounts.models import AuditAction, AuditLog, User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
USER_FIELDS = {
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "role",
    "is_active",
    "admin_approved",
    "mfa_enabled",
    "profile_code",
    "date_joined",
}


def register(api, **body):
    payload = {"password": PASSWORD, "first_name": "Anjali", "last_name": "Nair", **body}
    return api.post(REGISTER, payload, format="json")


# --- register ---------------------------------------------------------------------------------


def test_register_with_email_creates_member(api):
    response = register(api, email="Anjali@Example.com")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "anjali@example.com"
    assert body["role"] == "user"
    assert body["admin_approved"] is False
    assert body["mfa_enabled"] is False
    assert body["profile_code"].startswith("AU") and len(body["profile_code"]) == 8
    assert "password" not in response.content.decode()
    user = User.objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert user.password.startswith("md5$")  # the tests' hasher; never the raw password


def test_register_with_phone_normalises_to_e164(api):
    response = register(api, phone="098470 12345")

    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+919847012345"
    assert response.json()["email"] is None


def test_register_writes_audit_record(api):
    response = register(api, email="a@example.com")

    record = AuditLog.objects.get(action=AuditAction.REGISTER)
    assert record.target_id == response.json()["id"]
    assert record.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),  # neither email nor phone
        ({"phone": "12345"}, "phone"),
        ({"phone": "+91 98470"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "password": "password"}, "password"),
        ({"email": "a@example.com", "password": "12345678901"}, "password"),
        ({"email": "a@example.com", "first_name": "x" * 61}, "first_name"),
        ({"email": "a@example.com", "first_name": ""}, "first_name"),
        ({"email": "a@example.com", "first_name": ["Anjali"]}, "first_name"),
        ({"email": "a@example.com", "is_staff": True}, "is_staff"),
        ({"email": "a@example.com", "role": "admin"}, "role"),
    ],
)
def test_register_bad_input_is_400_and_stores_nothing(api, body, field):
    response = register(api, **body)

    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == "invalid"
    assert field in data["fields"]
    assert all(isinstance(m, str) for m in data["fields"][field])
    assert User.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_register_password_similar_to_email_is_refused(api):
    response = register(api, email="kuttanadan@example.com", password="kuttanadan1")

    assert response.status_code == 400
    assert "password" in response.json()["fields"]


@pytest.mark.parametrize("field", ["email", "phone"])
def test_register_duplicate_is_409_and_stores_nothing(api, field):
    existing = UserFactory(email="taken@example.com", phone="+919847011111")
    value = {"email": "TAKEN@example.com", "phone": "9847011111"}[field]

    response = register(api, **{field: value})

    assert response.status_code == 409, response.content
    assert response.json()["code"] == f"duplicate_{field}"
    assert list(User.objects.all()) == [existing]


def test_register_malformed_json_is_400(api):
    response = api.post(REGISTER, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert User.objects.count() == 0


def test_register_json_array_body_is_400(api):
    response = api.post(REGISTER, "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_register_form_encoded_body_is_415(api):
    response = api.post(REGISTER, {"email": "a@example.com"})

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- login ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier", ["anjali@example.com", "ANJALI@example.com", "9847012345", "+91 98470 12345"]
)
def test_login_by_email_or_phone(api, identifier):
    user = UserFactory(email="anjali@example.com", phone="+919847012345")

    response = api.post(LOGIN, {"identifier": identifier, "password": PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "user"}
    assert body["token_type"] == "bearer"
    assert body["user"]["id"] == str(user.pk)
    assert set(body["user"]) == USER_FIELDS
    user.refresh_from_db()
    assert user.last_login is not None
    assert AuditLog.objects.filter(action=AuditAction.LOGIN_SUCCESS, actor=user).count() == 1


def test_login_unknown_identifier_and_wrong_password_answer_the_same(api):
    UserFactory(email="anjali@example.com")

    unknown = api.post(
        LOGIN, {"identifier": "nobody@example.com", "password": PASSWORD}, format="json"
    )
    wrong = api.post(
        LOGIN, {"identifier": "anjali@example.com", "password": "nope-nope-nope"}, format="json"
    )

    assert unknown.status_code == wrong.status_code == 401
    assert (
        unknown.json()
        == wrong.json()
        == {"detail": "Invalid credentials.", "code": "invalid_credentials"}
    )
    reasons = sorted(
        r.metadata["reason"] for r in AuditLog.objects.filter(action=AuditAction.LOGIN_FAILURE)
    )
    assert reasons == ["unknown_identifier", "wrong_password"]


def test_unknown_account_costs_the_same_hashing_as_a_wrong_password(api, monkeypatch):
    from django.contrib.auth.hashers import MD5PasswordHasher

    calls: list[str] = []
    encode = MD5PasswordHasher.encode  # both hashing a new password and verifying call it
    monkeypatch.setattr(
        MD5PasswordHasher, "encode", lambda self, *a: calls.append("hash") or encode(self, *a)
    )
    UserFactory(email="anjali@example.com")

    calls.clear()
    api.post(LOGIN, {"identifier": "ghost@example.com", "password": "x-y-z-1"}, format="json")
    unknown = len(calls)
    calls.clear()
    api.post(LOGIN, {"identifier": "anjali@example.com", "password": "x-y-z-1"}, format="json")
    wrong = len(calls)

    assert unknown == wrong == 1


def test_login_to_suspended_account_is_refused_and_never_reactivates(api):
    user = UserFactory(is_active=False)

    response = api.post(LOGIN, {"identifier": user.email, "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "account_disabled"
    assert "access_token" not in response.json()
    user.refresh_from_db()
    assert user.is_active is False


def test_login_suspended_account_with_wrong_password_reveals_nothing(api):
    user = UserFactory(is_active=False)

    response = api.post(
        LOGIN, {"identifier": user.email, "password": "wrong-wrong-1"}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "identifier"),
        ({"identifier": "a@example.com"}, "password"),
        ({"identifier": "a@example.com", "password": PASSWORD, "mfa_code": "12ab56"}, "mfa_code"),
        ({"identifier": "a" * 300, "password": PASSWORD}, "identifier"),
        ({"identifier": "a@example.com", "password": PASSWORD, "remember": True}, "remember"),
    ],
)
def test_login_bad_input_is_400(api, body, field):
    response = api.post(LOGIN, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]


# --- me ---------------------------------------------------------------------------------------


def test_me_needs_a_token(api):
    response = api.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_with_garbage_token_is_401(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    response = api.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert set(response.json()) == {"detail", "code"}


def test_me_returns_own_user(client_for):
    user = UserFactory()

    response = client_for(user).get(ME)

    assert response.status_code == 200
    assert response.json()["id"] == str(user.pk)
    assert response.json()["phone"] == user.phone


def test_access_token_stops_working_when_account_is_suspended(client_for):
    user = UserFactory()
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(ME)

    assert response.status_code == 401


def test_no_response_leaks_the_password_hash(api):
    user = UserFactory()
    response = api.post(LOGIN, {"identifier": user.email, "password": PASSWORD}, format="json")

    assert user.password not in json.dumps(response.json())


@pytest.mark.parametrize(
    "body",
    [
        "null",
        '"a string"',
        "42",
        '{"identifier": null, "password": null}',
        '{"identifier": {"$gt": ""}, "password": ["x"]}',
        r'{"identifier": "\u0000\ud800", "password": "x"}',
        "[" * 50_000 + "]" * 50_000,
        '{"identifier": "' + "a" * 100_000 + '", "password": "x"}',
    ],
)
def test_odd_bodies_are_4xx_never_5xx(api, body):
    response = api.post(LOGIN, body, content_type="application/json")

    assert 400 <= response.status_code < 500, response.content[:300]
    assert set(response.json()) >= {"detail", "code"}
    assert AuditLog.objects.count() == 0


def test_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = api.post(
        REGISTER, '{"email": "' + "a" * 20_000 + '"}', content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "too_large"}
    assert User.objects.count() == 0
