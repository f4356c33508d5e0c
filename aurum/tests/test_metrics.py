"""/metrics: traffic driven through the real stack (HTTP through Django's middleware,
WebSockets through the ASGI routing, tasks through Celery, deliveries through their service)
moves the counters by what it did, as Prometheus reads them (the exposition, parsed); a
stranger gets the 404 of any unknown path; several real server processes writing to one
PROMETHEUS_MULTIPROC_DIR are added up by any one of them, and one that is killed keeps its
counts and loses its open sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from aurum import events
from aurum.asgi import application
from aurum.celery import app as celery_app
from chat.tests.helpers import connected_pair, frames_until, socket_for
from deliveries import services as deliveries
from deliveries.models import Delivery, Status

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = secrets.token_urlsafe(32)
STRANGER = ("203.0.113.7", 41000)
COUNT = "aurum_http_request_duration_seconds_count"


class Scrape:
    """One exposition, parsed: every sample by name and labels."""

    def __init__(self, body: bytes) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        self.families: set[str] = set()
        for family in text_string_to_metric_families(body.decode()):
            self.families.add(family.name)
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self) -> set[str]:
        return {value for _, labels in self.samples for _, value in labels}


async def request(
    path: str = "/metrics",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    client: tuple[str, int] | None = ("127.0.0.1", 40000),
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP request through the ASGI application, as uvicorn hands it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": client,
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(10)
    return start["status"], {k.lower(): v for k, v in start["headers"]}, body


def bearer(token: str = TOKEN) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


@pytest.fixture
def scrape(settings: Any) -> Callable[[], Awaitable[Scrape]]:
    """`await scrape()`: GET /metrics with the token, from an address not otherwise allowed."""
    settings.METRICS_TOKEN = TOKEN

    async def read() -> Scrape:
        status, _, body = await request(headers=bearer(), client=STRANGER)
        assert status == 200, body
        return Scrape(body)

    return read


def test_requests_are_timed_by_url_pattern_method_and_status(client, client_for, scrape):
    member = client_for(UserFactory())
    conversation = uuid.uuid4()
    before = async_to_sync(scrape)()

    for _ in range(3):
        assert client.get("/health").status_code == 200
    missing = member.get(f"/api/v1/chat/messages/{conversation}")
    assert client.post("/no/such/page").status_code == 404
    after = async_to_sync(scrape)()

    def moved(**labels: str) -> float:
        return after(COUNT, **labels) - before(COUNT, **labels)

    assert moved(route="/health", method="GET", status="200") == 3
    assert (
        moved(
            route="/api/v1/chat/messages/<str:conversation_id>",
            method="GET",
            status=str(missing.status_code),
        )
        == 1
    )
    assert moved(route="unmatched", method="POST", status="404") == 1
    health = {"route": "/health", "method": "GET", "status": "200"}
    assert after("aurum_http_request_duration_seconds_bucket", le="+Inf", **health) == after(
        COUNT, **health
    )
    assert after("aurum_http_request_duration_seconds_sum", **health) > 0
    # No path, id or token becomes a label; the scrapes themselves are not requests to Django.
    values = after.label_values()
    assert str(conversation) not in " ".join(values)
    assert "/metrics" not in values


@pytest_asyncio.fixture
async def fresh_layer() -> AsyncIterator[None]:
    """A channel layer of this test's own event loop (as chat/tests/conftest.py does)."""
    channel_layers.backends.clear()
    yield
    for layer in list(channel_layers.backends.values()):
        if hasattr(layer, "flush"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(layer.flush(), timeout=5)
    channel_layers.backends.clear()


@pytest.mark.asyncio
async def test_sockets_messages_and_calls_are_counted(client_for, scrape, fresh_layer):
    bride, groom, conversation = await database_sync_to_async(connected_pair)()
    before = await scrape()

    groom_chat, bride_chat = await socket_for(groom), await socket_for(bride)
    groom_call, bride_call = (
        await socket_for(groom, "/ws/call"),
        await socket_for(bride, "/ws/call"),
    )
    anonymous = WebsocketCommunicator(application, "/ws/chat")
    await anonymous.connect()
    assert (await anonymous.receive_output())["code"] == 4401
    while_open = await scrape()
    for n in range(2):
        await groom_chat.send_json_to(
            {
                "type": "message.send",
                "conversation_id": str(conversation.pk),
                "body": f"Namaskaram {n}",
                "client_id": f"c-{n}",
            }
        )
        await frames_until(groom_chat, "message.ack")
    over_http = await database_sync_to_async(
        lambda: client_for(bride.user).post(
            "/api/v1/chat/messages/send",
            {"conversation_id": str(conversation.pk), "body": "Hello", "client_id": "h-1"},
            format="json",
        )
    )()
    assert over_http.status_code in (200, 201), over_http.content
    await groom_call.send_json_to(
        {"type": "call.invite", "to_user_id": str(bride.user_id), "media": "audio"}
    )
    ringing = await frames_until(bride_call, "call.ringing")
    await bride_call.send_json_to({"type": "call.reject", "call_id": ringing["call_id"]})
    await frames_until(groom_call, "call.ended")
    for ws in (groom_chat, bride_chat, groom_call, bride_call):
        await ws.disconnect()
    after = await scrape()

    def moved(snapshot: Scrape, name: str, **labels: str) -> float:
        return snapshot(name, **labels) - before(name, **labels)

    assert moved(while_open, "aurum_websockets_open", path="/ws/chat") == 2
    assert moved(while_open, "aurum_websockets_open", path="/ws/call") == 2
    assert moved(after, "aurum_websockets_open", path="/ws/chat") == 0
    assert moved(after, "aurum_websockets_open", path="/ws/call") == 0
    connects = "aurum_websocket_connects_total"
    assert moved(after, connects, path="/ws/chat", outcome="accepted") == 2
    assert moved(after, connects, path="/ws/call", outcome="accepted") == 2
    assert moved(after, connects, path="/ws/chat", outcome="unauthorized") == 1
    assert moved(after, "aurum_chat_messages_total", via="socket") == 2
    assert moved(after, "aurum_chat_messages_total", via="http") == 1
    assert moved(after, "aurum_calls_placed_total", media="audio") == 1
    assert moved(after, "aurum_calls_ended_total", status="rejected") == 1


@celery_app.task(bind=True, name="aurum.tests.flaky")
def flaky(self: Any, failures: int) -> str:
    """Retries until it has failed `failures` times (a task of the tests' own)."""
    if self.request.retries < failures:
        raise self.retry(countdown=0, max_retries=5)
    return "ok"


def test_tasks_and_deliveries_are_counted(transactional_db, scrape, settings):
    from deliveries.backends import Memory

    outbox = Memory.outbox  # in-process: the counters read are this process's
    user = UserFactory()
    # Email to a port where nothing listens: the provider is down, the delivery will retry.
    settings.EMAIL_DELIVERY_BACKEND = "deliveries.backends.DjangoEmail"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    before = async_to_sync(scrape)()

    with transaction.atomic():
        deliveries.queue(
            channel="sms", to=user.phone, template="code.login", label="Login code", key="m-1"
        )
        deliveries.queue(
            channel="email", to=user.email, template="notification.x", label="Hi", key="m-2"
        )
    # A row whose task was lost (the broker was down): the sweeper's to find.
    Delivery.objects.create(
        channel="push", address="device", template="t", label="t", idempotency_key="m-3",
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    assert flaky.apply(args=[1]).get() == "ok"
    celery_app.tasks["deliveries.send"].apply(args=["not-a-delivery-id"])
    after = async_to_sync(scrape)()

    def moved(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    assert [m["to"] for m in outbox] == [user.phone]
    assert Delivery.objects.get(idempotency_key="m-2").status == Status.FAILED
    assert moved("aurum_deliveries_total", channel="sms", status="pending") == 1
    assert moved("aurum_deliveries_total", channel="sms", status="sent") == 1
    assert moved("aurum_deliveries_total", channel="email", status="pending") == 1
    assert moved("aurum_deliveries_total", channel="email", status="failed") == 1
    assert after("aurum_deliveries_waiting", channel="email", status="failed") == 1
    assert after("aurum_deliveries_waiting", channel="push", status="pending") == 1
    assert after("aurum_deliveries_waiting", channel="sms", status="pending") == 0
    runs = "aurum_task_runs_total"
    assert moved(runs, task="deliveries.send", state="SUCCESS") == 2
    assert moved("aurum_task_duration_seconds_count", task="deliveries.send") == 3
    assert moved(runs, task="aurum.tests.flaky", state="RETRY") == 1
    assert moved(runs, task="aurum.tests.flaky", state="SUCCESS") == 1
    assert moved("aurum_task_retries_total", task="aurum.tests.flaky") == 1
    assert moved(runs, task="deliveries.send", state="FAILURE") == 1
    assert moved("aurum_task_failures_total", task="deliveries.send") == 1
    assert after("aurum_metrics_collector_up", collector="deliveries") == 1
    # No broker on the embedded default: no queue to measure (the redis test below has one).
    if not settings.CELERY_BROKER_URL:
        assert "aurum_task_queue_depth" not in after.families


@pytest.mark.worker
def test_a_real_workers_tasks_reach_the_apps_metrics(worker, scrape, settings, api):
    """The worker process writes its metrics to its files; the app's /metrics reads them (in
    production: one PROMETHEUS_MULTIPROC_DIR shared by the machine's processes)."""
    if worker is not None:
        settings.METRICS_MULTIPROC_DIR = str(worker.metrics_dir)
    user = UserFactory()
    before = async_to_sync(scrape)()

    sent = api.post("/api/v1/auth/otp/send", {"phone": user.phone}, format="json")
    assert sent.status_code == 202
    deadline = time.monotonic() + 20
    while Delivery.objects.get(user=user).status != Status.SENT:
        assert time.monotonic() < deadline, "the code was not sent"
        time.sleep(0.05)
    after = async_to_sync(scrape)()

    def moved(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    # The worker counts after the row is written; give its signal a moment.
    deadline = time.monotonic() + 5
    while moved("aurum_task_runs_total", task="deliveries.send", state="SUCCESS") < 1:
        assert time.monotonic() < deadline
        after = async_to_sync(scrape)()
    assert moved("aurum_task_runs_total", task="deliveries.send", state="SUCCESS") == 1
    assert moved("aurum_deliveries_total", channel="sms", status="sent") == 1
    if worker is not None:  # through the broker: it waited in the codes queue
        assert moved("aurum_task_wait_seconds_count", task="deliveries.send") == 1
        assert after("aurum_task_wait_seconds_sum", task="deliveries.send") > 0


@pytest.mark.redis
def test_queue_depth_is_read_from_the_brokers_redis(scrape, settings):
    """Tasks published, by a Celery app of their own, to the broker /metrics reads, which no
    worker serves here (the tests' worker has a Redis database of its own)."""
    import redis
    from celery import Celery

    broker = settings.CELERY_BROKER_URL
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    # Where a real worker runs (PostgreSQL and Redis) it reads a Redis database of its own.
    assert broker and (not on_postgres or broker != celery_app.conf.broker_url)
    publisher = Celery("probe", broker=broker, set_as_current=False)  # the project's stays
    try:
        for _ in range(3):
            publisher.send_task("media.sweep_orphans", queue="media")
        publisher.send_task("accounts.purge_codes", queue="schedules")
        after = async_to_sync(scrape)()
    finally:
        publisher.close()
        redis.Redis.from_url(broker).delete("media", "schedules")

    assert after("aurum_task_queue_depth", queue="media") == 3
    assert after("aurum_task_queue_depth", queue="schedules") == 1
    assert after("aurum_task_queue_depth", queue="codes") == 0
    assert after("aurum_metrics_collector_up", collector="queues") == 1


@pytest.mark.asyncio
async def test_the_outbox_size_and_its_drops(fresh_layer):
    """A server's outbox filled past its bound while nothing drains it: its size is the bound,
    every event past it a drop; once drained, the size is back."""
    loop = asyncio.get_running_loop()
    # This process's registry, as /metrics renders it, read without an await in between.
    before = Scrape(generate_latest(REGISTRY))

    for n in range(events.MAX_OUTBOX + 5):
        events._enqueue(loop, ("group_send", "nobody", {"type": "x", "n": n}))
    full = Scrape(generate_latest(REGISTRY))  # no await yet: the drain has not run
    deadline = time.monotonic() + 10
    while events._outboxes[loop].qsize():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the last run handed over
    drained = Scrape(generate_latest(REGISTRY))

    size = "aurum_events_outbox_size"
    assert full(size) - before(size) == events.MAX_OUTBOX
    assert full("aurum_events_dropped_total") - before("aurum_events_dropped_total") == 5
    assert drained(size) == before(size)


# --- Who may read it ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_stranger_gets_the_404_of_any_unknown_path(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # nginx on this machine
    unknown = await request("/no-such-page", client=STRANGER)

    answers = [
        await request(client=STRANGER),
        await request(headers=bearer("wrong" + TOKEN[5:]), client=STRANGER),
        await request(headers=[(b"authorization", TOKEN.encode())], client=STRANGER),
        await request(client=None),
        # Through the local nginx (a trusted proxy): the client it names is the stranger.
        await request(headers=[(b"x-forwarded-for", STRANGER[0].encode())]),
        # The token, but not a GET: Django's, as for any path it does not have.
        await request(method="POST", headers=bearer(), client=STRANGER),
    ]

    assert unknown[0] == 404
    for status, headers, body in answers:
        assert status == 404
        assert body == unknown[2]
        assert {k: v for k, v in headers.items() if k != b"x-request-id"} == {
            k: v for k, v in unknown[1].items() if k != b"x-request-id"
        }
        assert b"aurum_" not in body


@pytest.mark.asyncio
async def test_the_token_or_an_allowed_address_opens_it(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.1.0.0/16"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    from_loopback = await request()
    from_network = await request(client=("10.1.2.3", 5000))
    via_proxy = await request(headers=[(b"x-forwarded-for", b"10.1.9.9")])
    outside = await request(client=("10.2.0.1", 5000))
    settings.METRICS_ALLOWED_IPS = []
    nobody_allowed = await request()
    settings.METRICS_TOKEN = TOKEN
    with_token = await request(
        headers=[*bearer(), (b"accept-encoding", b"gzip, deflate")], client=STRANGER
    )

    for status, headers, body in (from_loopback, from_network, via_proxy):
        assert status == 200
        assert headers[b"content-type"].startswith(b"text/plain; version=")
        assert headers[b"cache-control"] == b"no-store"
        assert b"# TYPE aurum_http_request_duration_seconds histogram" in body
        assert b"content-security-policy" not in headers  # Django's middleware never ran
    assert outside[0] == 404 and nobody_allowed[0] == 404
    assert with_token[0] == 200 and with_token[1][b"content-encoding"] == b"gzip"
    import gzip

    assert b"aurum_events_outbox_size" in gzip.decompress(with_token[2])


def test_metrics_is_not_in_the_api_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert schema["paths"] and not [p for p in schema["paths"] if "metrics" in p]


PROD_ENV = {
    "AURUM_ENV": "prod",
    "SECRET_KEY": "k" * 20 + "Zq8#" * 10,
    "DATABASE_URL": "postgresql://aurum:pw@db.internal:5432/aurum",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "api.aurum.example",
}


def prod_settings(code: str, **extra: str) -> subprocess.Popen[str]:
    """A process that loads the settings as production would, then runs `code`."""
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "DEBUG"}
    clean.pop("METRICS_ALLOWED_IPS", None)
    clean.pop("METRICS_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}"],
        cwd=ROOT,
        env={**clean, **PROD_ENV, "DJANGO_SETTINGS_MODULE": "aurum.settings", **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_prod_allows_no_address_by_default_and_refuses_a_short_token():
    started = [
        prod_settings(
            "from django.conf import settings as s\n"
            "print(s.METRICS_ALLOWED_IPS, repr(s.METRICS_TOKEN))"
        ),
        prod_settings("pass", METRICS_TOKEN="short"),
        prod_settings("pass", METRICS_ALLOWED_IPS="10.0.0.0/33"),
    ]
    (defaults, _), (_, short), (_, bad_network) = [p.communicate(timeout=60) for p in started]

    assert defaults.split() == ["[]", "''"]
    assert started[1].returncode != 0 and "METRICS_TOKEN of at least 32" in short
    assert started[2].returncode != 0 and "METRICS_ALLOWED_IPS" in bad_network


# --- Several processes, one directory ----------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_command(port: int) -> list[str]:
    """The ASGI worker as deploy/systemd/aurum@.service starts it, on a port of this test's."""
    unit = (ROOT / "deploy" / "systemd" / "aurum@.service").read_text().replace("\\\n", " ")
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    words = line.removeprefix("ExecStart=").split()
    words[0] = str(ROOT / ".venv" / "bin" / "uvicorn")
    return [w.replace("%i", str(port)) for w in words]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            if _get(port, "/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not start: {log.read_text()[-2000:]}")


def test_two_servers_and_a_worker_process_are_added_up_and_one_killed_keeps_its_counts(
    tmp_path,
):
    """Two uvicorn workers as deploy/ runs them and a third process (a stand-in for a Celery
    worker process, holding open sockets' gauge) share one directory. Either server reports
    the sum; a server killed with SIGKILL keeps its counts; the third's gauge goes with it."""
    shared = tmp_path / "metrics"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        "METRICS_TOKEN": TOKEN,
        "METRICS_ALLOWED_IPS": "",
        "CELERY_BROKER_URL": "",
    }
    servers: dict[int, subprocess.Popen[bytes]] = {}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django, sys; django.setup(); from aurum import metrics; "
            "metrics.WEBSOCKETS_OPEN.labels('/ws/chat').inc(2); "
            "metrics.TASK_RUNS.labels('deliveries.send', 'SUCCESS').inc(4); "
            "print('ready', flush=True); sys.stdin.readline()",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "aurum.settings"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        for _ in range(2):
            port = _free_port()
            log = tmp_path / f"server-{port}.log"
            with log.open("wb") as out:
                servers[port] = subprocess.Popen(
                    _server_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
        for port, process in servers.items():
            _wait_up(port, process, tmp_path / f"server-{port}.log")
        assert holder.stdout.readline().strip() == b"ready"
        first, second = servers
        for _ in range(2):  # _wait_up asked each for /health once already
            _get(first, "/health")
        _get(second, "/no-such-page")
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def scrape(port: int) -> Scrape:
            status, body = _get(port, "/metrics", auth)
            assert status == 200, body
            return Scrape(body)

        both = [scrape(first), scrape(second)]
        servers[second].send_signal(signal.SIGKILL)
        servers[second].wait(10)
        after_kill = scrape(first)
        holder.stdin.write(b"\n")
        holder.stdin.flush()
        holder.wait(10)
        after_exit = scrape(first)
        files = sorted(p.name for p in shared.glob("*.db"))
    finally:
        for process in [*servers.values(), holder]:
            if process.poll() is None:
                process.kill()
                process.wait(10)

    health = {"route": "/health", "method": "GET", "status": "200"}
    for view in both:  # either server: the whole machine
        assert view(COUNT, **health) == 4
        assert view(COUNT, route="unmatched", method="GET", status="404") == 1
        assert view("aurum_websockets_open", path="/ws/chat") == 2
        assert view("aurum_task_runs_total", task="deliveries.send", state="SUCCESS") == 4
    for view in (after_kill, after_exit):  # counters outlive their process
        assert view(COUNT, **health) == 4
        assert view(COUNT, route="unmatched", method="GET", status="404") == 1
        assert view("aurum_task_runs_total", task="deliveries.send", state="SUCCESS") == 4
    assert after_kill("aurum_websockets_open", path="/ws/chat") == 2
    assert after_exit("aurum_websockets_open", path="/ws/chat") == 0
    # What the ended processes counted is folded into the archives; only the live server's
    # own files remain beside them.
    alive = servers[first].pid
    assert files == sorted(
        [
            "counter_archive.db",
            "histogram_archive.db",
            f"counter_{alive}.db",
            f"histogram_{alive}.db",
            f"gauge_livesum_{alive}.db",
        ]
    )


# --- deploy/: the scrape config and the dashboard -----------------------------------------


def metric_families() -> dict[str, tuple[str, set[str]]]:
    """Every family /metrics can report: name -> (type, labels)."""
    from prometheus_client.metrics import MetricWrapperBase

    from aurum import metrics
    from deliveries.metrics import NAME as WAITING

    families = {
        m._name: (m._type, set(m._labelnames))
        for m in vars(metrics).values()
        if isinstance(m, MetricWrapperBase)
    }
    families[metrics.QUEUE_DEPTH] = ("gauge", {"queue"})
    families[metrics.TASK_UNACKED] = ("gauge", set())
    families[metrics.COLLECTOR_UP] = ("gauge", {"collector"})
    families[WAITING] = ("gauge", {"channel", "status"})
    return families


def series_names(name: str, kind: str) -> set[str]:
    return {
        "counter": {f"{name}_total"},
        "histogram": {f"{name}_bucket", f"{name}_count", f"{name}_sum"},
    }.get(kind, {name})


def test_the_dashboard_asks_only_for_metrics_that_exist_and_shows_every_one():
    import json
    import re

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "aurum.json").read_text())
    families = metric_families()
    family_of = {s: n for n, (kind, _) in families.items() for s in series_names(n, kind)}
    shown: set[str] = set()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]

    assert panels
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            named = re.findall(r"\baurum_\w+", expr)
            assert named, (panel["title"], expr)
            unknown = [n for n in named if n not in family_of]
            assert not unknown, (panel["title"], unknown)
            labels = set().union(*(families[family_of[n]][1] for n in named)) | {"le"}
            used = {
                label.strip()
                for clause in re.findall(r"\bby \(([^)]*)\)", expr)
                for label in clause.split(",")
            } | set(re.findall(r"(\w+)=~?\"", expr))
            assert used <= labels, (panel["title"], used - labels)
            assert expr.count("(") == expr.count(")"), expr
            shown.update(family_of[n] for n in named)
    assert shown == set(families), set(families) - shown


def test_the_readme_says_what_every_metric_means():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Metrics") :].split("\n\n")[2]

    for name, (kind, _) in metric_families().items():
        shown = name + "_total" if kind == "counter" else name
        assert f"| `{shown}` | {kind}" in table, name


def test_prometheus_scrapes_each_machine_once_through_nginx_with_the_token():
    import re

    import yaml

    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    site = (ROOT / "deploy" / "nginx" / "aurum.conf").read_text()
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "aurum"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    listener = re.search(r"listen (127\.0\.0\.1:\d+);\s+server_name _;", site).group(1)
    workers = re.findall(r"server (127\.0\.0\.1:\d+);", site)

    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/aurum-metrics-token",
    }
    assert targets == [listener]  # one target for the machine, never each worker
    assert workers and not set(workers) & set(targets)
    block = site[site.index(f"listen {listener};") :]
    assert "location = /metrics" in block and "proxy_pass http://aurum_workers;" in block
