"""Aurum through bad days: Redis away, PostgreSQL connections killed, a worker killed.

    .venv/bin/python bench/faults.py

Two uvicorn workers on PostgreSQL (`aurum_bench_chat`, as bench/chat.py) and a Redis server
of the script's own on a spare port. Throughout, a client reads (`GET auth/me`) and writes
(`POST chat/messages/send`, each with a new client_id) on both workers, about 25 requests a
second, and probes `GET /ready` on each every 200 ms. The faults, in order:
   3 s  Redis killed (SIGKILL); 13 s  Redis started again, empty
  18 s  every PostgreSQL connection of the app terminated (pg_terminate_backend)
  23 s  worker two killed (SIGKILL); 25 s  started again on its port, as systemd would
  32 s  end
Printed: what the API answered in each phase, when /ready turned 503 and back to 200 on each
worker, and the messages acknowledged but not stored (lost). Checks: /ready says 503 while
Redis is away and 200 again within 5 s of its return, with no restart; after the PostgreSQL
kill the workers serve again within 5 s; the other worker serves on while one is killed;
no 500 (an outage may answer 503, never 500); nothing acknowledged is lost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

from common import (
    machine,
    own_redis_setup,
    server_process,
    start_redis,
    start_server,
    wait_ready,
)

PHASES = [
    (0, "baseline"),
    (3, "Redis down"),
    (13, "Redis back"),
    (18, "PostgreSQL connections killed"),
    (23, "worker two killed"),
    (25, "worker two restarted"),
]
END = 32


class Recorder:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.calls: list[tuple[float, str, int, Any]] = []  # (t, operation, port, status)
        self.probes: list[tuple[float, int, Any]] = []  # (t, port, status)
        self.acked: set[str] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def now(self) -> float:
        return time.perf_counter() - self.started


def request(port: int, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    """The status, or the name of the error when no answer came."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError as exc:
        return type(exc).__name__


def load(recorder: Recorder, ports: list[int], pairs: list[dict[str, str]]) -> None:
    n = 0
    while not recorder.stop.is_set():
        port = ports[n % len(ports)]
        pair = pairs[n % len(pairs)]
        me = request(port, "GET", "/api/v1/auth/me", pair["a_token"])
        client_id = f"faults-{uuid.uuid4().hex[:12]}"
        sent = request(
            port,
            "POST",
            "/api/v1/chat/messages/send",
            pair["a_token"],
            {
                "conversation_id": pair["conversation"],
                "body": "Through a bad day",
                "client_id": client_id,
            },
        )
        at = recorder.now()
        with recorder.lock:
            recorder.calls.append((at, "GET auth/me", port, me))
            recorder.calls.append((at, "POST messages/send", port, sent))
            if sent in (200, 201):
                recorder.acked.add(client_id)
        n += 1
        time.sleep(0.08)


def probe(recorder: Recorder, ports: list[int]) -> None:
    while not recorder.stop.is_set():
        for port in ports:
            status = request(port, "GET", "/ready")
            with recorder.lock:
                recorder.probes.append((recorder.now(), port, status))
        time.sleep(0.2)


def phase_of(t: float) -> str:
    name = PHASES[0][1]
    for start, label in PHASES:
        if t >= start:
            name = label
    return name


def kill_postgres_connections(url: str) -> int:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return len(rows)


def first(probes: list[tuple[float, int, Any]], port: int, after: float, want: Any) -> Any:
    for t, p, status in probes:
        if p == port and t >= after and status == want:
            return t
    return None


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    url, redis_port, redis_url, env, chat_bench = own_redis_setup("faults.py", "CRITICAL")

    redis_server = start_redis(redis_port)
    pairs = chat_bench.prepare(10)
    server_env = {
        **env,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_CHAT_MESSAGE": "100000/m",
    }
    recorder = Recorder()
    events: list[str] = []
    with server_process(server_env) as (one, _), server_process(server_env) as (two, worker_two):
        ports = [one, two]
        recorder.started = time.perf_counter()
        threads = [
            threading.Thread(target=load, args=(recorder, ports, pairs)),
            threading.Thread(target=probe, args=(recorder, ports)),
        ]
        for thread in threads:
            thread.start()

        def at(second: float) -> None:
            time.sleep(max(0.0, second - recorder.now()))

        at(3)
        redis_server.kill()
        redis_server.wait()
        events.append(f"{recorder.now():5.1f} s: Redis killed")
        at(13)
        redis_server = start_redis(redis_port)
        events.append(f"{recorder.now():5.1f} s: Redis started again (empty)")
        at(18)
        killed = kill_postgres_connections(url)
        events.append(f"{recorder.now():5.1f} s: {killed} PostgreSQL connections terminated")
        at(23)
        worker_two.send_signal(signal.SIGKILL)
        worker_two.wait()
        events.append(f"{recorder.now():5.1f} s: worker two killed")
        at(25)
        restarted = start_server(server_env, two)
        wait_ready(two, restarted)
        events.append(f"{recorder.now():5.1f} s: worker two started again and answering")
        at(END)
        recorder.stop.set()
        for thread in threads:
            thread.join()
        restarted.terminate()
        restarted.wait()
    redis_server.terminate()

    import psycopg

    with psycopg.connect(url) as conn:
        stored = {
            row[0]
            for row in conn.execute(
                "SELECT client_id FROM chat_message WHERE client_id = ANY(%s)",
                [list(recorder.acked)],
            )
        }
    lost = recorder.acked - stored

    print(f"machine: {machine()}; PostgreSQL + own Redis on port {redis_port}; two uvicorn workers")
    for line in events:
        print(f"  {line}")
    print("what the API answered, by phase (worker one | worker two):")
    for _, label in PHASES:
        for operation in ("GET auth/me", "POST messages/send"):
            row = []
            for port in ports:
                counts = Counter(
                    status
                    for t, op, p, status in recorder.calls
                    if op == operation and p == port and phase_of(t) == label
                )
                row.append(
                    ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)) or "-"
                )
            print(f"  {label:30s} {operation:20s} {row[0]:28s} | {row[1]}")
    ready_checks = []
    for name, port in (("one", one), ("two", two)):
        down = first(recorder.probes, port, 3, 503)
        back = first(recorder.probes, port, 13, 200)
        print(
            f"  /ready on worker {name}: 503 at {down if down is None else f'{down:.1f} s'},"
            f" 200 again at {back if back is None else f'{back:.1f} s'}"
        )
        ready_checks.append(down is not None and down < 13 and back is not None and back < 18)
    after_pg = [t for t, op, p, status in recorder.calls if 18 <= t < 23 and status in (200, 201)]
    pg_recovery = (min(after_pg) - 18) if after_pg else None
    one_during_kill = Counter(
        status for t, op, p, status in recorder.calls if p == one and 23 <= t < 25
    )
    five_hundreds = sum(1 for *_, status in recorder.calls if status == 500)
    print(
        f"  acknowledged messages: {len(recorder.acked)}, stored: {len(stored)}, lost: {len(lost)}"
    )
    checks = [
        ("/ready 503 while Redis is away, 200 within 5 s of its return", all(ready_checks)),
        (
            f"serving again within 5 s of the PostgreSQL kill ({_seconds(pg_recovery)})",
            pg_recovery is not None and pg_recovery < 5,
        ),
        (
            f"worker one serves on while two is killed ({dict(one_during_kill)})",
            bool(one_during_kill) and set(one_during_kill) <= {200, 201},
        ),
        (f"no 500 anywhere ({five_hundreds})", five_hundreds == 0),
        (f"nothing acknowledged is lost ({len(lost)})", not lost),
    ]
    failed = False
    for label, ok in checks:
        failed |= not ok
        print(f"check  {label:75s} {'meets' if ok else 'MISSES'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
