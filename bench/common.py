"""What every benchmark here needs: Django set up in-process, the app under uvicorn, timing."""

from __future__ import annotations

import http.client
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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


def interleaved(
    cases: dict[str, Callable[[], object]], rounds: int, seed: int, warm_up: int = 5
) -> dict[str, list[float]]:
    """Each case's times in ms: every case `warm_up` times first, then `rounds` rounds with
    the cases in a new order each round, so all of them meet the same machine conditions."""
    for case in cases.values():
        for _ in range(warm_up):
            case()
    timings: dict[str, list[float]] = {name: [] for name in cases}
    order = random.Random(seed)
    for _ in range(rounds):
        names = list(cases)
        order.shuffle(names)
        for name in names:
            begun = time.perf_counter()
            cases[name]()
            timings[name].append((time.perf_counter() - begun) * 1000)
    return timings


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
    env: dict[str, str], port: int, app: str = "aurum.asgi:application", root: Path = ROOT
) -> subprocess.Popen[bytes]:
    """`app` under uvicorn, one worker, on `port` (not waiting for it to be ready), from the
    tree at `root` (another checkout of Aurum, to compare two versions in one run)."""
    return subprocess.Popen(
        [
            str(root / ".venv" / "bin" / "uvicorn"),
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
        cwd=root,
        env={**os.environ, **env},
    )


@contextmanager
def server_process(
    env: dict[str, str], app: str = "aurum.asgi:application", root: Path = ROOT
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`app` under uvicorn, one worker, on a free port; yields the port and the process."""
    port = free_port()
    server = start_server(env, port, app, root)
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


def start_redis(port: int, appendonly_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """A throwaway redis-server on `port`, keeping nothing on disk (or, with `appendonly_dir`,
    an append-only file there, fsynced every second); returns once it answers."""
    persistence = ["--appendonly", "no"]
    if appendonly_dir is not None:
        appendonly_dir.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        persistence += ["--dir", str(appendonly_dir)]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", *persistence, "--bind", "127.0.0.1"],
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


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


class CeleryWorker:
    """A real `celery -A aurum worker`, as deploy/systemd/aurum-worker@.service starts it, in a
    session of its own: `kill()` takes a prefork pool's children with it, as a crash, the OOM
    killer or a lost machine would."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        pool: str = "solo",
        concurrency: int = 1,
        queues: str = "codes,deliveries,digests,media,schedules",
        include: str = "",
    ) -> None:
        self.env, self.log_path = env, log_path
        self.pool, self.concurrency, self.queues, self.include = pool, concurrency, queues, include
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> float:
        """Starts it and returns the seconds until it said it was ready."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [
            str(ROOT / ".venv" / "bin" / "celery"), "-A", "aurum", "worker",
            f"--pool={self.pool}", f"--concurrency={self.concurrency}",
            f"--queues={self.queues}", "--without-gossip", "--without-mingle",
            "--loglevel=INFO", f"--hostname=bench-{os.getpid()}-{time.monotonic_ns()}@%h",
        ]  # fmt: skip
        if self.include:
            command.append(f"--include={self.include}")
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.monotonic() - began < timeout:
            with open(self.log_path, "rb") as seen:
                seen.seek(offset)
                if b" ready." in seen.read():
                    return time.monotonic() - began
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the Celery worker did not start; see {self.log_path}")

    def kill(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM, as systemd stops it): running tasks finish first."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
