from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import AuditAction, AuditLog, User
from accounts.tests.factories import PASSWORD, UserFactory
from aurum.errors import Unauthenticated

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
CHANGE = "/api/v1/auth/password/change"
ME = "/api/v1/auth/me"


def login(api, user):
    response = api.post(LOGIN, {"identifier": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(api, token):
    return api.post(REFRESH, {"refresh_token": token}, format="json")


def test_refresh_rotates_and_old_token_stops_working(api):
    user = UserFactory()
    first = login(api, user)

    rotated = refresh(api, first["refresh_token"])
    again = refresh(api, rotated.json()["refresh_token"])

    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access_token", "refresh_token", "token_type"}
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert again.status_code == 200
    reused = refresh(api, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"


def test_reusing_a_rotated_token_ends_that_session_only(api):
    user = UserFactory()
    stolen = login(api, user)
    other_device = login(api, user)
    current = refresh(api, stolen["refresh_token"]).json()  # the member rotates

    assert refresh(api, stolen["refresh_token"]).status_code == 401  # the thief replays

    assert refresh(api, current["refresh_token"]).status_code == 401  # that session is over
    assert refresh(api, other_device["refresh_token"]).status_code == 200


def test_new_access_token_works(api):
    user = UserFactory()
    rotated = refresh(api, login(api, user)["refresh_token"]).json()

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}")

    assert api.get(ME).json()["id"] == str(user.pk)


def test_refresh_with_empty_token_is_bad_input(api):
    response = refresh(api, "")

    assert response.status_code == 400
    assert "refresh_token" in response.json()["fields"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_refresh_with_bad_token_is_401(api, token):
    response = refresh(api, token)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_access_token_is_not_a_refresh_token(api):
    tokens = login(api, UserFactory())

    assert refresh(api, tokens["access_token"]).status_code == 401


def test_refresh_refused_for_suspended_member(api):
    user = UserFactory()
    tokens = login(api, user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert refresh(api, tokens["refresh_token"]).status_code == 401


def test_logout_revokes_refresh_token_and_is_idempotent(api):
    user = UserFactory()
    tokens = login(api, user)

    first = api.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json")
    second = api.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json")

    assert first.status_code == second.status_code == 204
    assert refresh(api, tokens["refresh_token"]).status_code == 401
    assert AuditLog.objects.filter(action=AuditAction.LOGOUT, actor=user).exists()


def test_logout_with_forged_token_is_401(api):
    response = api.post(LOGOUT, {"refresh_token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}, format="json")

    assert response.status_code == 401


def test_password_change_revokes_other_sessions_but_not_this_one(api):
    user = UserFactory()
    phone_session = login(api, user)
    web_session = login(api, user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {web_session['access_token']}")

    response = api.post(
        CHANGE, {"old_password": PASSWORD, "new_password": "Chenda-melam-2026!"}, format="json"
    )

    assert response.status_code == 204, response.content
    assert refresh(api, phone_session["refresh_token"]).status_code == 401
    assert refresh(api, web_session["refresh_token"]).status_code == 200
    user.refresh_from_db()
    assert user.check_password("Chenda-melam-2026!")
    record = AuditLog.objects.get(action=AuditAction.PASSWORD_CHANGE)
    assert record.metadata == {"sessions_revoked": 1}


def test_password_change_with_wrong_old_password_changes_nothing(client_for):
    user = UserFactory()

    response = client_for(user).post(
        CHANGE,
        {"old_password": "not-it-at-all", "new_password": "Chenda-melam-2026!"},
        format="json",
    )

    assert response.status_code == 400
    assert "old_password" in response.json()["fields"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_refuses_weak_password(client_for):
    user = UserFactory()

    response = client_for(user).post(
        CHANGE, {"old_password": PASSWORD, "new_password": "password1"}, format="json"
    )

    assert response.status_code == 400
    assert "new_password" in response.json()["fields"]


def test_suspension_revokes_every_refresh_token(api):
    user = UserFactory()
    sessions = [login(api, user) for _ in range(3)]

    services.user_set_active(actor=None, user=user, active=False, reason="test")
    User.objects.filter(pk=user.pk).update(is_active=True)  # even if reactivated at once

    assert all(refresh(api, s["refresh_token"]).status_code == 401 for s in sessions)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_refreshes_with_one_token_yield_one_new_pair():
    user = UserFactory()
    raw = services.tokens_issue(user=user).refresh_token
    barrier = threading.Barrier(4)
    results: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            services.token_refresh(refresh_token=raw)
            results.append("ok")
        except Exception as exc:
            results.append(exc.code if isinstance(exc, Unauthenticated) else repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == ["ok", "token_not_valid", "token_not_valid", "token_not_valid"]
