"""Prometheus metrics: what every process counts, and `GET /metrics`, which reports them.

The metrics are defined here, once, for any app to count with (this module imports none).
Counting is a few memory writes; anything that needs a query (queue depth, waiting
deliveries) is computed only when Prometheus asks, by collectors apps register.

With PROMETHEUS_MULTIPROC_DIR (settings.METRICS_MULTIPROC_DIR) every process on a machine
(each uvicorn worker, each Celery worker process) writes its values to files of its own there
(prometheus_client's multiprocess mode), and any one server's /metrics adds up every file:
the machine's totals. Files of processes that ended are folded into one archive file per
kind as they are found (counters keep their totals; a dead process's open sockets go), so
worker processes that come and go (Celery's --max-tasks-per-child) do not pile up files.
Without it each process reports its own values (the embedded default: one process).

`/metrics` is answered before Django (`MetricsEndpoint`, in the ASGI wiring), so no
middleware, host check or HTTPS redirect touches the exposition and it is in no API schema;
a request without the token, or from an address not allowed, goes on to Django, which
answers the 404 of any unknown path.
"""

from __future__ import annotations

import fcntl
import glob
import gzip
import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from aurum.net import client_ip

_DIR = settings.METRICS_MULTIPROC_DIR
if _DIR:
    # prometheus_client picks its mode from the environment; `.env` may be where it was set.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _DIR

from channels.db import DatabaseSyncToAsync  # noqa: E402
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.mmap_dict import MmapedDict  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead  # noqa: E402

logger = logging.getLogger("aurum.metrics")
# Rates come from the counters themselves; a `_created` series beside each would double them.
disable_created_metrics()

if _DIR:
    if not getattr(values.ValueClass, "_multiprocess", False):  # imported before .env was read
        values.ValueClass = values.MultiProcessValue()
    # A live gauge's file is named by its process id: one left by an earlier process with this
    # id (the pid came round again) would lend it that process's values.
    mark_process_dead(os.getpid(), _DIR)
    os.register_at_fork(after_in_child=lambda: mark_process_dead(os.getpid(), _DIR))

PATH = "/metrics"

# --- The metrics ------------------------------------------------------------------------------
# Labels take only values from a closed set (URL patterns, task names, choices): never a path,
# an id or anything a client sends.

HTTP_REQUEST_SECONDS = Histogram(
    "aurum_http_request_duration_seconds",
    "HTTP requests served by Django: time from the first middleware in to the response out.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS_OPEN = Gauge(
    "aurum_websockets_open",
    "Member WebSockets open now (accepted and signed in).",
    ["path"],
    multiprocess_mode="livesum",
)
WEBSOCKET_CONNECTS = Counter(
    "aurum_websocket_connects",
    "WebSocket connections by outcome: accepted, unauthorized (4401), too_many (4429).",
    ["path", "outcome"],
)
CHAT_MESSAGES = Counter(
    "aurum_chat_messages",
    "Chat messages stored (a repeated client_id is not counted again), by how they came.",
    ["via"],
)
CALLS_PLACED = Counter("aurum_calls_placed", "Calls placed (ringing).", ["media"])
CALLS_ENDED = Counter(
    "aurum_calls_ended",
    "Calls finished, by their final status: ended, missed, rejected, failed.",
    ["status"],
)
EVENTS_OUTBOX = Gauge(
    "aurum_events_outbox_size",
    "Live events queued in servers' outboxes, not yet handed to the channel layer.",
    multiprocess_mode="livesum",
)
EVENTS_DROPPED = Counter(
    "aurum_events_dropped", "Live events dropped, oldest first, from a full outbox."
)
TASK_RUNS = Counter(
    "aurum_task_runs", "Celery task runs, by task and final state.", ["task", "state"]
)
TASK_SECONDS = Histogram(
    "aurum_task_duration_seconds",
    "Celery task run time, by task.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
TASK_WAIT_SECONDS = Histogram(
    "aurum_task_wait_seconds",
    "Time a Celery task waited in its queue: from publish (or its countdown's end) to start.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
TASK_RETRIES = Counter("aurum_task_retries", "Celery task retries scheduled, by task.", ["task"])
TASK_FAILURES = Counter("aurum_task_failures", "Celery task runs that raised, by task.", ["task"])
DELIVERIES = Counter(
    "aurum_deliveries",
    "Deliveries reaching a status: pending (queued), sent, failed (will retry), gave_up.",
    ["channel", "status"],
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The URL pattern a request matched (`/api/v1/chat/conversations/<uuid:pk>`), `static`
    for WhiteNoise's files, `unmatched` for anything no pattern took."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", "") or ""
    if route:  # a regex (the /api/ catch-all's "^api/") is shown as it is written
        return route if route.startswith("^") else f"/{route}"
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def observe_request(request: HttpRequest, status: int, seconds: float) -> None:
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUEST_SECONDS.labels(route_of(request), method, str(status)).observe(seconds)


# --- Values computed when Prometheus asks -----------------------------------------------------

Collect = Callable[[], Iterable[Metric]]
_collectors: dict[str, Collect] = {}


def register(name: str, collect: Collect) -> None:
    """Add `collect` to every scrape (an app's counts from its tables). It runs in a worker
    thread with database access; when it raises, its metrics are left out and
    aurum_metrics_collector_up{collector=name} says 0."""
    _collectors[name] = collect


@lru_cache(maxsize=2)
def _broker(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")  # kombu's Redis priority lists
QUEUE_DEPTH = "aurum_task_queue_depth"
TASK_UNACKED = "aurum_task_unacked"
COLLECTOR_UP = "aurum_metrics_collector_up"


def queue_depths() -> Iterable[Metric]:
    """Messages waiting in each queue of the broker's Redis (kombu keeps a queue as a list,
    one per priority step) and messages taken by workers but not yet acknowledged."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return []
    pipe = _broker(url).pipeline(transaction=False)
    for queue in settings.AURUM_TASK_QUEUES:
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(queue + suffix)
    pipe.hlen("unacked")
    counts = pipe.execute()
    depth = GaugeMetricFamily(
        QUEUE_DEPTH, "Messages waiting in each Celery queue.", labels=["queue"]
    )
    step = len(_PRIORITY_SUFFIXES)
    for index, queue in enumerate(settings.AURUM_TASK_QUEUES):
        depth.add_metric([queue], sum(counts[index * step : (index + 1) * step]))
    unacked = GaugeMetricFamily(
        TASK_UNACKED,
        "Messages workers have taken and not yet acknowledged (running or prefetched).",
        counts[-1],
    )
    return [depth, unacked]


register("queues", queue_depths)


def _scraped() -> list[Metric]:
    families: list[Metric] = []
    up = GaugeMetricFamily(
        COLLECTOR_UP,
        "1 when a scrape-time collector answered, 0 when it failed (its metrics are missing).",
        labels=["collector"],
    )
    for name, collect in _collectors.items():
        try:
            families.extend(collect())
        except Exception:  # a database or broker away must not take the other metrics with it
            logger.warning("metrics collector %s failed", name, exc_info=True)
            up.add_metric([name], 0)
        else:
            up.add_metric([name], 1)
    families.append(up)
    return families


# --- Processes' files (multiprocess mode) -----------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _compact(path: str) -> None:
    """Fold the files of processes that have ended into `<kind>_archive.db` (counters and
    histograms keep their totals), and drop their live gauges. Runs under the directory's
    exclusive lock, so no scrape reads a file while it moves into the archive."""
    ended: dict[str, list[str]] = {}
    for file in glob.glob(os.path.join(path, "*.db")):
        parts = os.path.basename(file)[:-3].split("_")
        if not parts[-1].isdigit() or _alive(int(parts[-1])):
            continue
        if parts[0] == "gauge":
            if parts[1].startswith("live"):
                os.remove(file)
            continue
        ended.setdefault(parts[0], []).append(file)
    for kind, files in ended.items():
        archive = os.path.join(path, f"{kind}_archive.db")
        totals: dict[str, float] = {}
        for source in [archive, *files] if os.path.exists(archive) else files:
            for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(source):
                totals[key] = totals.get(key, 0.0) + value
        # Written aside and renamed over the archive: a crash leaves the old archive whole.
        staged = os.path.join(path, f".{kind}_archive.staged")
        if os.path.exists(staged):
            os.remove(staged)
        merged = MmapedDict(staged)
        for key, value in totals.items():
            merged.write_value(key, value, 0.0)
        merged.close()
        os.replace(staged, archive)
        for file in files:
            os.remove(file)


def _from_files(path: str) -> list[Metric]:
    with open(os.path.join(path, ".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another server is compacting; wait for it below
            pass
        else:
            _compact(path)
        fcntl.flock(lock, fcntl.LOCK_SH)
        return list(MultiProcessCollector.merge(glob.glob(os.path.join(path, "*.db"))))


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def exposition() -> bytes:
    """Every metric in Prometheus' text format: the machine's (multiprocess mode) or this
    process's, then the scrape-time collectors'."""
    path = settings.METRICS_MULTIPROC_DIR
    counted = _from_files(path) if path else list(REGISTRY.collect())
    return generate_latest(_Families(counted + _scraped()))  # type: ignore[arg-type]


# --- Who may read it --------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(a, strict=False) for a in allowed)


def allowed(scope: dict[str, Any]) -> bool:
    """The bearer token (compared in constant time), or an allowed address; nothing else."""
    headers: dict[bytes, list[bytes]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.lower(), []).append(value)
    token = settings.METRICS_TOKEN
    if token:
        given = b",".join(headers.get(b"authorization", []))
        if hmac.compare_digest(given, b"Bearer " + token.encode()):
            return True
    if not settings.METRICS_ALLOWED_IPS:
        return False
    # The client as aurum.net sees it: X-Forwarded-For only from TRUSTED_PROXIES, so a public
    # request through the local nginx is its client's address, not loopback.
    request = HttpRequest()
    client = scope.get("client") or ("", 0)
    request.META = {
        "REMOTE_ADDR": client[0] or "",
        "HTTP_X_FORWARDED_FOR": b",".join(headers.get(b"x-forwarded-for", [])).decode("latin1"),
    }
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


class MetricsEndpoint:
    """ASGI: `GET /metrics` for a caller `allowed` is answered here; every other request (a
    stranger's /metrics too) goes on to `app`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope.get("path") != PATH
            or scope.get("method") != "GET"
            or not allowed(scope)
        ):
            await self.app(scope, receive, send)
            return
        # In a worker thread of its own (collectors may query the database): a scrape never
        # waits for, or holds up, the thread Django's sync views share.
        body = await DatabaseSyncToAsync(exposition, thread_sensitive=False)()
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"cache-control", b"no-store"),
            (b"vary", b"accept-encoding"),
        ]
        accepted = b",".join(
            v for k, v in scope.get("headers", []) if k.lower() == b"accept-encoding"
        )
        if b"gzip" in accepted:
            body = gzip.compress(body, compresslevel=5)
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
