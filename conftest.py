"""Shared test wiring: fast hashing, a clean cache per test, captured codes, API clients.

Tests marked `postgres` or `redis` skip on the embedded default with their reason. When
AURUM_FAIL_ON_SKIP=1 (the PostgreSQL + Redis pass of `.ci/run`) any skip is a failure, so a
test can never quietly stop running where the real services are.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

FAIL_ON_SKIP = os.environ.get("AURUM_FAIL_ON_SKIP") == "1"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = bool(settings.REDIS_URL)
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "redis" in item.keywords and not on_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis (set REDIS_URL)"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if FAIL_ON_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped while AURUM_FAIL_ON_SKIP=1: {report.longrepr}"


@pytest.fixture(autouse=True, scope="session")
def _communicators_close_connections() -> Iterator[None]:
    """Channels' test communicators turn `channels.db.close_old_connections` into a no-op (in
    every thread) while they wait, to spare a TestCase's transaction; so a consumer's database
    call made meanwhile keeps its connection. On PostgreSQL an event loop's worker thread that
    ends with its test then takes a pooled connection with it, never given back: the pool
    counts it in use for good and later tests time out waiting (channels issue #2118). Socket
    tests here are transactional, so the communicators wait as asgiref's (and a server) do."""
    from asgiref.testing import ApplicationCommunicator as ServerLike
    from channels.testing.application import ApplicationCommunicator

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ApplicationCommunicator, "send_input", ServerLike.send_input)
        patch.setattr(ApplicationCommunicator, "receive_output", ServerLike.receive_output)
        yield


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> Iterator[None]:
    # A cheap hasher keeps hundreds of users fast; the production hasher has its own tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AURUM_CODE_SENDER = "accounts.senders.MemorySender"
    settings.AURUM_CODE_SEND_ASYNC = False  # the outbox is read right after the request
    settings.NOTIFY_SEND_ASYNC = False
    settings.NOTIFY_SMS_BACKEND = "notifications.backends.MemoryBackend"
    settings.NOTIFY_PUSH_BACKEND = "notifications.backends.MemoryBackend"
    from notifications.backends import MemoryBackend

    MemoryBackend.sent.clear()
    settings.STATEMENTS_CHECK = 1.0  # every compiled statement's rows checked against the ORM
    settings.MEDIA_ROOT = tmp_path / "media"
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                **settings.STORAGES["default"],
                "OPTIONS": {"location": tmp_path / "media"},
            },
        }
    from accounts.senders import MemorySender

    MemorySender.outbox.clear()
    cache.clear()
    yield


@pytest.fixture
def outbox() -> list[dict[str, str]]:
    from accounts.senders import MemorySender

    return MemorySender.outbox


@pytest.fixture
def heard() -> Iterator[Callable[[Any], list[dict[str, Any]]]]:
    """`heard(signal)`: the keyword arguments of each send of `signal` during the test."""
    connected: list[tuple[Any, Callable[..., None]]] = []

    def listen(signal: Any) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = []

        def receiver(sender: Any, signal: Any, **kwargs: Any) -> None:
            log.append(kwargs)

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return log

    yield listen
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client authenticated as `user` with a real access token."""
    from accounts.services import tokens_issue

    def make(user: Any) -> APIClient:
        client = APIClient()
        tokens = tokens_issue(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
        client.tokens = tokens  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server, a real HTTP endpoint on a free local port, for the whole session."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_server: str, settings: Any) -> Iterator[str]:
    """Point the default storage at a fresh bucket on moto's server, as production does MinIO."""
    import uuid

    import boto3

    bucket = f"aurum-test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto's dummy credentials
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
            },
        },
    }
    yield bucket


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The console, for what the Content-Security-Policy refused (csp_violations below).
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1280,900",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def csp_violations(browser: Any) -> Callable[[], list[str]]:
    """What the page's Content-Security-Policy refused since the last call, as Chromium's
    console said it (each refusal is a console error: "Refused to load ... because it
    violates the following Content Security Policy directive ...")."""

    def read() -> list[str]:
        return [
            entry["message"]
            for entry in browser.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
        ]

    return read
