"""What every benchmark here needs: Django set up in-process, the app under uvicorn, timing."""

from __future__ import annotations

import http.client
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def ensure_postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aurum.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start in 30 s")


def start_server(
    env: dict[str, str], port: int, app: str = "aurum.asgi:application"
) -> subprocess.Popen[bytes]:
    """`app` under uvicorn, one worker, on `port` (not waiting for it to be ready)."""
    return subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            app,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "2",
            "--no-access-log",
            # WebSocket frames uncompressed, as daphne (make run, the Dockerfile) sends them.
            "--ws-per-message-deflate",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )


@contextmanager
def server_process(
    env: dict[str, str], app: str = "aurum.asgi:application"
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`app` under uvicorn, one worker, on a free port; yields the port and the process."""
    port = free_port()
    server = start_server(env, port, app)
    try:
        wait_ready(port, server)
        yield port, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@contextmanager
def uvicorn(env: dict[str, str]) -> Iterator[int]:
    """The app under uvicorn, one worker, on a free port; yields the port."""
    with server_process(env) as (port, _):
        yield port


def rss_mb(pid: int) -> float:
    """A process's resident memory, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A throwaway redis-server on `port`, keeping nothing on disk; returns once it answers."""
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            import redis

            redis.Redis(port=port).ping()
            return server
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def postgres_setup(
    script: str, database: str, log_level: str = "WARNING"
) -> tuple[str, dict[str, str]]:
    """A benchmark's PostgreSQL (`DATABASE_URL`, by default `database` on the local server),
    created when missing, and Django set up (set `REDIS_URL` first: settings read it once).
    Returns the database URL and the environment for the servers."""
    url = os.environ.setdefault("DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{database}")
    if not url.startswith("postgres"):
        sys.exit(f"bench/{script} measures PostgreSQL: set DATABASE_URL to a postgresql:// URL")
    ensure_postgres_database(url)
    env = {"AURUM_ENV": "dev", "DEBUG": "0", "LOG_LEVEL": log_level}
    setup_django(env)
    return url, env


def own_redis_setup(script: str, log_level: str) -> tuple[str, int, str, dict[str, str], Any]:
    """For the scripts that break their own Redis (chat_chaos, faults): PostgreSQL as
    bench/chat.py, a spare port for that Redis, Django set up, and bench/chat.py loaded (its
    `prepare` makes the pairs). Returns the database URL, the Redis port and URL, the
    environment for the servers, and the chat module."""
    from importlib import util

    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["REDIS_URL"] = redis_url
    url, env = postgres_setup(script, "aurum_bench_chat", log_level)
    spec = util.spec_from_file_location("chat_bench", Path(__file__).parent / "chat.py")
    assert spec and spec.loader
    chat_bench = util.module_from_spec(spec)
    spec.loader.exec_module(chat_bench)
    return url, redis_port, redis_url, env, chat_bench
