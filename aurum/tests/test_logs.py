"""Logs: JSON lines with the request's id, and never personal data or secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from aurum.logfilters import RedactTokens
from aurum.logs import JsonFormatter, PlainFormatter, RequestIdFilter, scrub

pytestmark = pytest.mark.django_db

PASSWORD = "Kayal-and-coconut-77"


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every line logged meanwhile, at DEBUG, as the production handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactTokens())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_each_request_has_an_id_in_its_answer_and_its_log_lines(api, log_lines):
    given = api.get("/health", HTTP_X_REQUEST_ID="app-7f3c9a11-retry-2")
    made = api.get("/api/v1/auth/me")
    refused = api.get("/health", HTTP_X_REQUEST_ID="not sane\n{}")

    assert given["X-Request-ID"] == "app-7f3c9a11-retry-2"
    assert len(made["X-Request-ID"]) == 32 and made["X-Request-ID"] != given["X-Request-ID"]
    assert refused["X-Request-ID"] != "not sane\n{}" and len(refused["X-Request-ID"]) == 32
    access = [line for line in log_lines() if line["logger"] == "aurum.access"]
    assert [(a["request_id"], a["path"], a["status"]) for a in access] == [
        ("app-7f3c9a11-retry-2", "/health", 200),
        (made["X-Request-ID"], "/api/v1/auth/me", 401),
        (refused["X-Request-ID"], "/health", 200),
    ]
    assert all(a["method"] == "GET" and a["duration_ms"] >= 0 for a in access)


def test_the_access_line_names_the_route_not_the_values_in_it(client_for, log_lines):
    from accounts.tests.factories import UserFactory

    client_for(UserFactory()).delete("/api/v1/notifications/devices/fcm-secret-push-token-1")

    (access,) = [line for line in log_lines() if line["logger"] == "aurum.access"]
    assert access["path"] == "/api/v1/notifications/devices/<path:token>"
    assert "fcm-secret-push-token-1" not in json.dumps(log_lines())


def test_an_unknown_path_is_logged_as_asked(api, log_lines):
    api.delete("/api/v1/no/such/thing")

    (access,) = [line for line in log_lines() if line["logger"] == "aurum.access"]
    assert (access["path"], access["status"]) == ("/api/v1/no/such/thing", 404)


def test_uvicorns_own_loggers_go_through_the_scrubbing_handler():
    from django.conf import settings

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert settings.LOGGING["loggers"][name]["handlers"] == ["console"]
        assert settings.LOGGING["loggers"][name]["propagate"] is False
    # Its handler is the console one (pytest may add its own capturing handlers beside it).
    (handler,) = [
        h
        for h in logging.getLogger("uvicorn.error").handlers
        if isinstance(h.formatter, PlainFormatter | JsonFormatter)
    ]
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        "",
        0,
        '%s "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/chat?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"),
        None,
    )
    for kind in handler.filters:
        kind.filter(record)
    assert "eyJ" not in handler.format(record)


def test_the_access_line_names_the_member_by_id_only(client_for, log_lines):
    from accounts.tests.factories import UserFactory

    member = UserFactory(email="meera.nair@example.in", first_name="Meera")

    client_for(member).get("/api/v1/auth/me?email=meera.nair@example.in")

    (access,) = [line for line in log_lines() if line["logger"] == "aurum.access"]
    assert access["user_id"] == str(member.pk)
    assert access["path"] == "/api/v1/auth/me"  # never the query
    assert "meera" not in json.dumps(access).lower()


def test_a_members_flows_leave_no_personal_data_or_secret_in_the_logs(log_lines, outbox):
    email, phone = "anjali.menon@example.in", "+919847012345"
    api = APIClient()
    registered = api.post(
        "/api/v1/auth/register",
        {"email": email, "phone": phone, "password": PASSWORD, "first_name": "Anjali"},
        format="json",
    )
    wrong = api.post(
        "/api/v1/auth/login", {"identifier": email, "password": "guess-1"}, format="json"
    )
    tokens = api.post(
        "/api/v1/auth/login", {"identifier": phone, "password": PASSWORD}, format="json"
    ).json()
    api.post("/api/v1/auth/otp/send", {"phone": "9847012345"}, format="json")
    code = outbox[-1]["text"].split()[0]
    verified = api.post("/api/v1/auth/otp/verify", {"phone": phone, "code": code}, format="json")
    api.post("/api/v1/auth/password/reset/request", {"identifier": email}, format="json")
    api.post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    api.get(f"/api/v1/auth/me?token={tokens['access_token']}")
    logging.getLogger("aurum.test").warning("careless: %s %s %s", email, phone, tokens)

    assert registered.status_code == 201 and wrong.status_code == 401
    assert verified.status_code == 200 and len(code) == 6
    text = json.dumps(log_lines())
    assert "aurum.access" in text and "careless" in text  # the flows were logged
    for secret in (
        email,
        phone,
        "9847012345",
        PASSWORD,
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["access_token"].split(".")[1],
    ):
        assert secret not in text, secret


def test_scrub_takes_out_what_must_not_be_logged():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJl"
    line = f"to anjali@example.in / +919847012345 / 9847012345 with {jwt} at /ws/chat?token=abc&x=1"

    assert scrub(line) == (
        "to [email] / [phone] / [phone] with [jwt] at /ws/chat?token=[redacted]&x=1"
    )
    # Ids and ordinary numbers stay readable.
    assert scrub("message 12345 in 0b7d3f52-5c0e-4a57-9d55-3a1f7c3e9a10 took 1234567890123 ns") == (
        "message 12345 in 0b7d3f52-5c0e-4a57-9d55-3a1f7c3e9a10 took 1234567890123 ns"
    )


def test_scrub_takes_signatures_out_of_signed_file_urls():
    ours = "/files/photos/1/tiny.webp?e=4102444800&s=5167a1c0ffee5167a1c0"
    s3 = (
        "/aurum-media/photos/1/full.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAEXAMPLE%2F20261202%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20261202T000000Z&X-Amz-Signature=feedbeef0123"
    )
    old_s3 = "/b/k?AWSAccessKeyId=AKIAEXAMPLE&Signature=c2lnbmF0dXJl&Expires=1"

    assert scrub(ours) == "/files/photos/1/tiny.webp?e=4102444800&s=[redacted]"
    assert scrub(s3) == (
        "/aurum-media/photos/1/full.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=[redacted]&X-Amz-Date=20261202T000000Z&X-Amz-Signature=[redacted]"
    )
    assert scrub(old_s3) == "/b/k?AWSAccessKeyId=[redacted]&Signature=[redacted]&Expires=1"


def test_the_plain_format_carries_the_id_and_is_scrubbed_too():
    record = logging.LogRecord("x", logging.INFO, "", 0, "mail %s", ("a@b.in",), None)
    RequestIdFilter().filter(record)

    assert PlainFormatter().format(record).endswith("x [None] mail [email]")
