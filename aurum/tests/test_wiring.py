"""Project wiring: probes, error shape, docs, CORS, client address, the prod guard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from accounts.tests.factories import PASSWORD, UserFactory
from aurum.net import client_ip

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def test_health_is_ok(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_every_part(client):
    response = client.get("/ready")

    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "channel_layer": "ok",
        "storage": "ok",
    }


def test_ready_is_503_naming_a_dead_redis(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": CLOSED_PORT_REDIS, "socket_connect_timeout": 1}]},
        }
    }

    response = client.get("/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["channel_layer"] == "down"
    assert body["checks"]["database"] == "ok"
    assert "cache" in body["detail"] and "channel_layer" in body["detail"]


def test_ready_is_503_naming_unreachable_storage(client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "aurum",
                "endpoint_url": "http://127.0.0.1:1",
                "access_key": "x",
                "secret_key": "y",
                "region_name": "us-east-1",
            },
        },
    }
    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "down"


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_api_bug_is_json_500_without_internals(api, monkeypatch):
    from accounts import services

    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "auth_login", explode)
    response = api.post(
        "/api/v1/auth/login", {"identifier": "a@example.com", "password": "x"}, format="json"
    )

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert b"secret internals" not in response.content


def test_method_not_allowed_is_in_the_error_shape(api):
    response = api.get("/api/v1/auth/login")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/docs")
    redoc = client.get("/redoc")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/auth/login", "/api/v1/auth/mfa/qrcode", "/api/v1/auth/otp/verify"]:
        assert path in paths
    for page in (docs, redoc):
        html = page.content.decode()
        assert page.status_code == 200
        assert "/static/drf_spectacular_sidecar/" in html
        assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_cors_allows_configured_origin_only(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.aurum.example"]

    allowed = api.options(
        "/api/v1/auth/login",
        HTTP_ORIGIN="https://app.aurum.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    other = api.options(
        "/api/v1/auth/login",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert allowed["Access-Control-Allow-Origin"] == "https://app.aurum.example"
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),  # no trusted proxy: header ignored
        ("10.0.0.2", "1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.5", ["10.0.0.0/8"], "1.2.3.4"),  # spoofed left hop
        ("10.0.0.2", "", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "garbage", ["10.0.0.0/8"], "10.0.0.2"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    settings, remote, forwarded, proxies, expected
):
    settings.TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_login_audit_uses_the_forwarded_address_behind_a_proxy(api, settings):
    from accounts.models import AuditAction, AuditLog

    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    user = UserFactory()

    api.post(
        "/api/v1/auth/login",
        {"identifier": user.email, "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="49.37.1.2",
    )

    assert AuditLog.objects.get(action=AuditAction.LOGIN_SUCCESS).ip == "49.37.1.2"


# --- the production guard ---------------------------------------------------------------------

PROD_ENV = {
    "AURUM_ENV": "prod",
    "SECRET_KEY": "k" * 20 + "Zq8#" * 10,
    "DATABASE_URL": "postgresql://aurum:pw@db.internal:5432/aurum",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "api.aurum.example",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_prod_refuses_to_start_without_real_services(missing):
    env = {k: v for k, v in PROD_ENV.items() if k != missing}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "AURUM_ENV=prod needs" in result.stderr
    assert missing in result.stderr


def test_prod_refuses_the_development_secret_key():
    result = run_manage("check", env={**PROD_ENV, "SECRET_KEY": ""})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_prod_passes_check_deploy_with_no_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_api_datetimes_are_utc(client_for):
    user = UserFactory()

    joined = client_for(user).get("/api/v1/auth/me").json()["date_joined"]

    assert joined.endswith(("Z", "+00:00")), joined


def test_unknown_fields_are_reported_with_the_other_errors(api):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "not-an-email", "password": "x", "first_name": "", "extra": 1},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "first_name", "extra"}


@pytest.mark.parametrize(("path", "zone"), [("/admin/", "Asia/Kolkata"), ("/api/v1/x", "UTC")])
def test_admin_reads_kerala_time_and_the_api_utc(path, zone):
    from django.http import HttpResponse
    from django.utils import timezone

    from aurum.middleware import AdminTimeZoneMiddleware

    seen = []
    middleware = AdminTimeZoneMiddleware(
        lambda request: seen.append(timezone.get_current_timezone_name()) or HttpResponse()
    )

    middleware(RequestFactory().get(path))

    assert seen == [zone]
    assert timezone.get_current_timezone_name() == "UTC"


def test_access_logs_never_show_a_websocket_token(caplog):
    import logging

    from aurum.logfilters import RedactTokens

    logger = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, RedactTokens) for h in logger.handlers for f in h.filters), (
        "uvicorn's access log must pass through the redaction filter"
    )
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/chat?token=eyJhbGciOi.secret.part&x=1"),
        None,
    )

    RedactTokens().filter(record)

    assert "secret" not in record.getMessage()
    assert "/ws/chat?token=[redacted]&x=1" in record.getMessage()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_postgresql_dropped_is_not_handed_to_a_request(client_for):
    """A restart or failover ends the pool's connections; the next request gets a live one
    (the pool checks each at checkout) instead of a 500 (bench/faults.py)."""
    import psycopg
    from django.db import connection

    from accounts.tests.factories import UserFactory

    client = client_for(UserFactory())
    # A pool of its own: earlier tests' threads may still hold connections of the shared one.
    connection.close()
    connection.close_pool()
    assert client.get("/api/v1/auth/me").status_code == 200
    # Back to the pool, as at the end of every request outside tests (Django's test client
    # keeps a thread's connection open across requests).
    connection.close()
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [settings_dict["NAME"]],
        ).fetchall()

    assert killed
    assert client.get("/api/v1/auth/me").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit():
    """JIT compiled the dashboard's interest count for ~61 ms to run it in one: off."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.django_db
def test_a_cursor_that_is_not_ours_is_400_on_every_kind_of_list(client_for):
    from accounts.tests.factories import UserFactory

    client = client_for(UserFactory())
    for path in ("/api/v1/chat/calls", "/api/v1/notifications/", "/api/v1/matching/interests"):
        response = client.get(path, {"cursor": "not-a-cursor"})
        assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor"), path
