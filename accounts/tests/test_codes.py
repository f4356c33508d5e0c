"""Phone OTP login and password reset: one code mechanism."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditAction, AuditLog, CodePurpose, OneTimeCode
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SEND = "/api/v1/auth/otp/send"
VERIFY = "/api/v1/auth/otp/verify"
RESET_REQUEST = "/api/v1/auth/password/reset/request"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm"
LOGIN = "/api/v1/auth/login"
NEW_PASSWORD = "Vallam-kali-Punnamada-7"


def sent_code(outbox, to: str) -> str:
    texts = [m["text"] for m in outbox if m["to"] == to]
    assert texts, f"nothing was sent to {to}"
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def test_otp_send_texts_a_code_and_stores_only_its_hash(api, outbox):
    user = UserFactory(phone="+919847012345")

    response = api.post(SEND, {"phone": "98470 12345"}, format="json")

    assert response.status_code == 202
    code = sent_code(outbox, "+919847012345")
    assert code not in response.content.decode()
    stored = OneTimeCode.objects.get(user=user, purpose=CodePurpose.LOGIN)
    assert stored.code_hash != code and code not in stored.code_hash
    assert len(stored.code_hash) == 64


def test_otp_send_to_unknown_phone_answers_the_same_and_sends_nothing(api, outbox):
    response = api.post(SEND, {"phone": "+919847099999"}, format="json")

    assert response.status_code == 202
    assert outbox == []
    assert OneTimeCode.objects.count() == 0


def test_otp_send_creates_no_account(api):
    api.post(SEND, {"phone": "+919847099999"}, format="json")
    response = api.post(VERIFY, {"phone": "+919847099999", "code": "123456"}, format="json")

    assert response.status_code == 401
    from accounts.models import User

    assert User.objects.count() == 0


def test_otp_verify_logs_in_once(api, outbox):
    user = UserFactory(phone="+919847012345")
    api.post(SEND, {"phone": "+919847012345"}, format="json")
    code = sent_code(outbox, "+919847012345")

    first = api.post(VERIFY, {"phone": "+919847012345", "code": code}, format="json")
    again = api.post(VERIFY, {"phone": "+919847012345", "code": code}, format="json")

    assert first.status_code == 200, first.content
    assert first.json()["user"]["id"] == str(user.pk)
    assert first.json()["token_type"] == "bearer"
    assert again.status_code == 401
    assert again.json()["code"] == "otp_invalid"
    assert AuditLog.objects.filter(action=AuditAction.OTP_LOGIN, actor=user).count() == 1


def test_otp_code_dies_after_five_wrong_tries(api, outbox):
    UserFactory(phone="+919847012345")
    api.post(SEND, {"phone": "+919847012345"}, format="json")
    code = sent_code(outbox, "+919847012345")
    wrong = "000000" if code != "000000" else "111111"

    answers = [
        api.post(VERIFY, {"phone": "+919847012345", "code": wrong}, format="json").status_code
        for _ in range(5)
    ]
    right = api.post(VERIFY, {"phone": "+919847012345", "code": code}, format="json")

    assert answers == [401] * 5
    assert right.status_code == 401
    assert OneTimeCode.objects.get().attempts == 5


def test_otp_code_expires(api, outbox):
    UserFactory(phone="+919847012345")
    api.post(SEND, {"phone": "+919847012345"}, format="json")
    code = sent_code(outbox, "+919847012345")
    OneTimeCode.objects.all().update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api.post(VERIFY, {"phone": "+919847012345", "code": code}, format="json")

    assert response.status_code == 401


def test_new_code_replaces_the_previous_one(api, outbox, monkeypatch):
    import accounts.services

    codes = iter([111111, 222222])
    monkeypatch.setattr(accounts.services.secrets, "randbelow", lambda _n: next(codes))
    UserFactory(phone="+919847012345")
    api.post(SEND, {"phone": "+919847012345"}, format="json")
    api.post(SEND, {"phone": "+919847012345"}, format="json")

    stale = api.post(VERIFY, {"phone": "+919847012345", "code": "111111"}, format="json")
    fresh = api.post(VERIFY, {"phone": "+919847012345", "code": "222222"}, format="json")

    assert stale.status_code == 401
    assert fresh.status_code == 200


def test_otp_send_to_suspended_member_sends_nothing(api, outbox):
    user = UserFactory(phone="+919847012345", is_active=False)
    api.post(SEND, {"phone": "+919847012345"}, format="json")

    assert outbox == []
    assert not OneTimeCode.objects.filter(user=user).exists()


def test_otp_verify_for_member_suspended_after_the_code_was_sent(api, outbox):
    from accounts.models import User

    user = UserFactory(phone="+919847012345")
    api.post(SEND, {"phone": user.phone}, format="json")
    code = sent_code(outbox, user.phone)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = api.post(VERIFY, {"phone": user.phone, "code": code}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "account_disabled"
    assert "access_token" not in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "+919847012345", "code": "12345"}, "code"),
        ({"phone": "+919847012345", "code": "abcdef"}, "code"),
        ({"phone": "not a phone", "code": "123456"}, "phone"),
        ({"code": "123456"}, "phone"),
    ],
)
def test_otp_verify_bad_input_is_400(api, body, field):
    response = api.post(VERIFY, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]


# --- password reset ---------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", ["nobody@example.com", "+919847099999", "not-anything"])
def test_reset_request_always_answers_202(api, outbox, identifier):
    response = api.post(RESET_REQUEST, {"identifier": identifier}, format="json")

    assert response.status_code == 202
    assert outbox == []


def test_reset_by_email_then_login_with_new_password(api, outbox):
    user = UserFactory(email="anjali@example.com")
    other_session = api.post(
        LOGIN, {"identifier": user.email, "password": PASSWORD}, format="json"
    ).json()

    assert (
        api.post(RESET_REQUEST, {"identifier": "Anjali@example.com"}, format="json").status_code
        == 202
    )
    code = sent_code(outbox, "anjali@example.com")
    assert outbox[-1]["channel"] == "email"
    confirm = api.post(
        RESET_CONFIRM,
        {"identifier": "anjali@example.com", "code": code, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert confirm.status_code == 204, confirm.content
    login = api.post(LOGIN, {"identifier": user.email, "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 200
    stale = api.post(
        "/api/v1/auth/refresh", {"refresh_token": other_session["refresh_token"]}, format="json"
    )
    assert stale.status_code == 401
    assert AuditLog.objects.filter(action=AuditAction.PASSWORD_RESET, actor=user).exists()


def test_reset_by_phone_sends_sms(api, outbox):
    UserFactory(phone="+919847012345")

    api.post(RESET_REQUEST, {"identifier": "9847012345"}, format="json")

    assert outbox[-1]["channel"] == "sms"
    assert outbox[-1]["to"] == "+919847012345"


def test_reset_with_wrong_code_changes_nothing(api, outbox):
    user = UserFactory(email="anjali@example.com")
    api.post(RESET_REQUEST, {"identifier": user.email}, format="json")
    code = sent_code(outbox, user.email)
    wrong = "000000" if code != "000000" else "111111"

    response = api.post(
        RESET_CONFIRM,
        {"identifier": user.email, "code": wrong, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "code_invalid"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_reset_with_weak_password_keeps_the_code_usable(api, outbox):
    user = UserFactory(email="anjali@example.com")
    api.post(RESET_REQUEST, {"identifier": user.email}, format="json")
    code = sent_code(outbox, user.email)

    weak = api.post(
        RESET_CONFIRM,
        {"identifier": user.email, "code": code, "new_password": "123"},
        format="json",
    )
    strong = api.post(
        RESET_CONFIRM,
        {"identifier": user.email, "code": code, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert weak.status_code == 400
    assert "new_password" in weak.json()["fields"]
    assert strong.status_code == 204


def test_reset_confirm_does_not_tell_which_accounts_exist(api):
    UserFactory(email="anjali@example.com")
    weak = {"code": "123456", "new_password": "1"}

    known = api.post(RESET_CONFIRM, {"identifier": "anjali@example.com", **weak}, format="json")
    unknown = api.post(RESET_CONFIRM, {"identifier": "ghost@example.com", **weak}, format="json")

    assert known.status_code == unknown.status_code == 400
    assert (
        known.json()
        == unknown.json()
        == {
            "detail": "The code is wrong, used or expired.",
            "code": "code_invalid",
        }
    )


def test_login_code_cannot_reset_a_password(api, outbox):
    user = UserFactory(phone="+919847012345")
    api.post(SEND, {"phone": user.phone}, format="json")
    code = sent_code(outbox, user.phone)

    response = api.post(
        RESET_CONFIRM,
        {"identifier": user.phone, "code": code, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 400


def test_codes_and_passwords_never_reach_the_logs(api, outbox, caplog, settings):
    caplog.set_level(logging.DEBUG)
    user = UserFactory(email="anjali@example.com", phone="+919847012345")

    api.post(SEND, {"phone": user.phone}, format="json")
    login_code = sent_code(outbox, user.phone)
    api.post(VERIFY, {"phone": user.phone, "code": "000001"}, format="json")
    api.post(VERIFY, {"phone": user.phone, "code": login_code}, format="json")
    api.post(RESET_REQUEST, {"identifier": user.email}, format="json")
    reset_code = sent_code(outbox, user.email)
    api.post(
        RESET_CONFIRM,
        {"identifier": user.email, "code": reset_code, "new_password": NEW_PASSWORD},
        format="json",
    )
    api.post(LOGIN, {"identifier": user.email, "password": "Wrong-guess-123"}, format="json")

    logged = caplog.text
    assert caplog.records  # the flow did log (e.g. the SMS metadata): the check is not vacuous
    for secret in [login_code, reset_code, NEW_PASSWORD, "Wrong-guess-123", PASSWORD]:
        assert secret not in logged


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_cannot_exceed_the_try_limit():
    import threading

    from django.db import connection

    from accounts import services

    user = UserFactory(phone="+919847012345")
    code = services.code_issue(user=user, purpose=CodePurpose.LOGIN)
    wrong = "000000" if code != "000000" else "111111"
    barrier = threading.Barrier(12)

    def guess() -> None:
        barrier.wait()
        try:
            services.code_check(user=user, purpose=CodePurpose.LOGIN, code=wrong)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert OneTimeCode.objects.get(user=user).attempts == 5
    assert services.code_check(user=user, purpose=CodePurpose.LOGIN, code=code) is None
