"""Shared test wiring: fast hashing, a clean cache per test, captured codes, API clients.

Tests marked `postgres` or `redis` skip on the embedded default with their reason. When
AURUM_FAIL_ON_SKIP=1 (the PostgreSQL + Redis pass of `.ci/run`) any skip is a failure, so a
test can never quietly stop running where the real services are.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

FAIL_ON_SKIP = os.environ.get("AURUM_FAIL_ON_SKIP") == "1"
os.environ.setdefault("PGAPPNAME", "aurum-tests")
# Tests marked `worker` run through a real Celery worker process where one can share the test
# database and a broker: PostgreSQL and Redis. On the embedded default they run in-process.
REAL_WORKER = bool(settings.REDIS_URL) and settings.DATABASES["default"]["ENGINE"].endswith(
    "postgresql"
)


def _test_broker() -> str:
    """Each test clears the cache's Redis database, so the queue lives in another one."""
    broker = settings.CELERY_BROKER_URL
    if broker and broker.rstrip("/") == settings.REDIS_URL.rstrip("/"):
        base, _, db = broker.rstrip("/").rpartition("/")
        broker = f"{base}/{14 if db != '14' else 13}"
    return broker


if REAL_WORKER:
    # Before any task is applied: Celery fixes its producers' broker on first use, eager too.
    from aurum.celery import app as _celery_app

    _celery_app.conf.broker_url = _test_broker()


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = bool(settings.REDIS_URL)
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "redis" in item.keywords and not on_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis (set REDIS_URL)"))


# A test (setup and teardown included) still running after this long has the stacks of every
# thread printed, and on PostgreSQL what each session of the test database waits on; at
# pytest-timeout's limit (pyproject.toml) the run ends. A hang then costs CI minutes, not hours,
# and says where it was.
HANG_REPORT_SECONDS = float(os.environ.get("AURUM_HANG_REPORT_SECONDS", "150"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Iterator[None]:
    import threading

    timer = threading.Timer(HANG_REPORT_SECONDS, _report_hang, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _report_hang(nodeid: str) -> None:
    import faulthandler
    import sys

    out = sys.__stderr__
    out.write(f"\n\n=== {nodeid} still running after {HANG_REPORT_SECONDS} s ===\n")
    out.flush()
    faulthandler.dump_traceback(file=out, all_threads=True)
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    import psycopg
    from django.db import connection

    try:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, connect_timeout=3) as probe:
            rows = probe.execute(
                "SELECT pid, application_name, pg_blocking_pids(pid), state, wait_event_type,"
                " wait_event, now() - xact_start, left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        out.write(
            "PostgreSQL sessions (pid, program, blocked by, state, wait, in transaction for,"
            " query):\n"
        )
        for row in rows:
            out.write(f"  {row}\n")
    except Exception as error:  # a report, never a second failure
        out.write(f"could not read pg_stat_activity: {error!r}\n")
    out.flush()


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
    settings.SMS_BACKEND = "deliveries.backends.MemorySms"
    settings.PUSH_BACKEND = "deliveries.backends.MemoryPush"
    from deliveries.backends import Memory

    Memory.outbox.clear()
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
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _tasks_in_process(request: Any) -> Iterator[None]:
    """Tasks run in this process, right after commit (as on the embedded default), except in
    tests marked `worker`, which a real worker process serves where Redis runs."""
    from aurum.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = "worker" not in request.keywords or not REAL_WORKER
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def outbox(transactional_db: None, settings: Any, request: Any) -> Any:
    """Every SMS, email and push sent, as dicts (`channel`, `to`, `text`); without this
    fixture email goes to Django's `mail.outbox`. Tests that read it run with real
    transactions, so deliveries are queued, and sent, after commit as in production: by the
    real worker process where PostgreSQL and Redis run (read back from its SMS files and the
    SMTP server once the queue has drained), in-process otherwise."""
    from deliveries.backends import Memory

    if not REAL_WORKER:
        settings.EMAIL_DELIVERY_BACKEND = "deliveries.backends.MemoryEmail"
        return Memory.outbox
    from aurum.celery import app

    worker, smtp = request.getfixturevalue("worker"), request.getfixturevalue("smtp")
    fcm = request.getfixturevalue("fcm_server")
    with fcm.lock:
        fcm.received.clear()
    app.conf.task_always_eager = False  # restored by _tasks_in_process
    return WorkerOutbox(worker.sms_dir, smtp, fcm)


class WorkerOutbox:
    """What the worker process sent, read as the in-process outbox is: a list of dicts,
    oldest first, each read waiting first until no delivery is left to send."""

    def __init__(self, sms_dir: Any, smtp: SmtpSink, fcm: Any) -> None:
        self.sms_dir, self.smtp, self.fcm = sms_dir, smtp, fcm

    def _messages(self) -> list[dict[str, Any]]:
        import time

        from deliveries.models import Delivery

        deadline = time.monotonic() + 20
        while Delivery.objects.filter(status="pending").exists():
            if time.monotonic() > deadline:
                raise AssertionError("the worker left deliveries pending for 20 s")
            time.sleep(0.02)
        found = [
            (path.stat().st_mtime, _sms_file(path))
            for path in (self.sms_dir.glob("*.txt") if self.sms_dir.exists() else [])
        ]
        found += [(m["at"], {"channel": "email", **m}) for m in self.smtp.received]
        found += [
            (m["at"], {"channel": "push", "to": m["token"], "subject": m["notification"]["title"],
                       "text": m["notification"]["body"], "data": m.get("data", {})})
            for m in list(self.fcm.received)
        ]  # fmt: skip
        return [message for _, message in sorted(found, key=lambda pair: pair[0])]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._messages())

    def __len__(self) -> int:
        return len(self._messages())

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._messages()[index]

    def __eq__(self, other: object) -> bool:
        return self._messages() == other

    __hash__ = None  # type: ignore[assignment]


def _sms_file(path: Any) -> dict[str, Any]:
    head, _, text = path.read_text().partition("\n\n")
    return {"channel": "sms", "to": head.removeprefix("To: ").strip(), "text": text.strip()}


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


class SmtpSink:
    """aiosmtpd's handler: a real SMTP server that keeps what it accepted. With `hold` cleared
    it stops each transaction at RCPT (before any data) until `hold` is set again."""

    def __init__(self) -> None:
        import threading

        self.received: list[dict[str, str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.waiting = threading.Event()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, *_: Any
    ) -> str:
        import asyncio

        if not self.hold.is_set():
            self.waiting.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import time
        from email import message_from_bytes

        message = message_from_bytes(envelope.content)
        part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), message)
        self.received.append(
            {
                "message_id": message["Message-ID"] or "",
                "to": ",".join(envelope.rcpt_tos),
                "subject": message["Subject"] or "",
                "text": (part.get_payload(decode=True) or b"").decode("utf-8", "replace"),
                "html": any(p.get_content_type() == "text/html" for p in message.walk()),
                "at": time.time(),
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[str, int, SmtpSink]]:
    import logging

    from aiosmtpd.controller import Controller

    # The fake server's own log prints each message it takes, codes included: it is the
    # provider's log, not ours (our logs are what the tests check for secrets).
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield "127.0.0.1", controller.port, sink
    controller.stop()


@pytest.fixture
def smtp(smtp_server: tuple[str, int, SmtpSink], settings: Any) -> SmtpSink:
    """Email goes over SMTP to a local aiosmtpd server (in this process and in the worker)."""
    host, port, sink = smtp_server
    sink.received.clear()
    sink.hold.set()
    sink.waiting.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
    return sink


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Worker:
    """A real `celery worker` process on the test database, serving every queue."""

    def __init__(self, env: dict[str, str], log_path: Any) -> None:
        self.env = env
        self.log_path = log_path
        self.process: Any = None

    def start(self) -> None:
        import subprocess
        import sys
        import time

        log = open(self.log_path, "a")
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "aurum", "worker", "--pool=solo",
                "--queues=codes,deliveries,digests,media,schedules", "--without-gossip",
                "--without-mingle", "--loglevel=INFO", "--hostname=test@%h",
            ],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(self.log_path) as seen:
                seen.seek(start)
                if " ready." in seen.read():
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the Celery worker did not start; see {self.log_path}")

    def kill(self) -> None:
        import signal

        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except Exception:
                self.kill()


@pytest.fixture(scope="session")
def fcm_server() -> Iterator[Any]:
    """A local server that answers as FCM HTTP v1 (and Google's OAuth2) does: the worker's
    pushes go there, so tests read them back."""
    from deliveries.tests.fakes import FakeFcm

    fake = FakeFcm()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def _worker_process(
    django_db_setup: None,
    django_db_blocker: Any,
    smtp_server: tuple[str, int, SmtpSink],
    fcm_server: Any,
    tmp_path_factory: Any,
) -> Iterator[Worker | None]:
    """Started on first use where Redis runs; stopped before the test database is dropped."""
    if not REAL_WORKER:
        yield None
        return
    import redis

    broker = _test_broker()
    redis.Redis.from_url(broker).flushdb()
    database = settings.DATABASES["default"]
    folder = tmp_path_factory.mktemp("worker")
    env = {
        **os.environ,
        "DATABASE_URL": f"{settings.DATABASE_URL.rsplit('/', 1)[0]}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": settings.SECRET_KEY,
        "PGAPPNAME": "aurum-test-worker",  # named in a hang report's PostgreSQL sessions
        "SMS_BACKEND": "deliveries.backends.FileOutboxSms",
        "SMS_OUTBOX_DIR": str(folder / "sms"),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_server[0],
        "EMAIL_PORT": str(smtp_server[1]),
        "PUSH_BACKEND": "deliveries.backends.FcmPush",
        "FCM_CREDENTIALS_JSON": json.dumps(fcm_server.service_account),
        "FCM_ENDPOINT": fcm_server.url,
        "DELIVERY_LEASE_SECONDS": "2",
        "DELIVERY_SWEEP_AFTER_SECONDS": "1",
        "DELIVERY_BACKOFF_BASE_SECONDS": "0.2",
        # Its metrics go to files there, which a test's /metrics reads (aurum.metrics).
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
    }
    worker = Worker(env, folder / "worker.log")
    worker.sms_dir = folder / "sms"  # type: ignore[attr-defined]
    worker.metrics_dir = folder / "metrics"  # type: ignore[attr-defined]
    yield worker
    worker.stop()


@pytest.fixture
def worker(_worker_process: Worker | None, settings: Any) -> Iterator[Worker | None]:
    """The real worker for a `worker` test where Redis runs (None on the embedded default,
    where the test's tasks run in-process). Its SMS go to files in `worker.sms_dir`."""
    if _worker_process is not None:
        if _worker_process.process is None or _worker_process.process.poll() is not None:
            _worker_process.start()
        settings.DELIVERY_LEASE_SECONDS = 2
        settings.DELIVERY_SWEEP_AFTER_SECONDS = 1
        shutil.rmtree(_worker_process.sms_dir, ignore_errors=True)  # type: ignore[attr-defined]
    yield _worker_process
