"""The background queue: enqueue → task start latency and tasks per second, beside the raw
Redis LPUSH → BRPOP it is built on, measured in the same run; then a login code's delivery
from commit to the SMS provider.

    .venv/bin/python bench/celery_queue.py [--tasks 500] [--burst 2000] [--deliveries 200]
                                           [--delivery-burst 1000] [--pools solo,prefork,threads]

Starts its own redis-server on a free port (the broker, no persistence), a real
`celery -A aurum worker` against it and PostgreSQL (`aurum_benchq`, or DATABASE_URL), and a
local server that answers as Exotel does (deliveries/tests/fakes.py). For each pool (solo;
prefork, as deploy/ runs it; threads; the last two with one child or thread per core):

- latency: one message at a time, the raw floor and the task taking turns. The floor is a
  second process that BRPOPs a list, notes the time and RPUSHes it to a results list; the task
  (`bench.queue_tasks.stamp`, published through `aurum.queue.publish` as the app publishes)
  does exactly that inside the worker. start - enqueue is read on one clock
  (CLOCK_MONOTONIC is machine-wide), and the round trip until the result is back;
- throughput: a burst published one message at a time as fast as the client can, floor and
  task, counted from the first start to the last;
- deliveries: `deliveries.services.queue` of an SMS code in its own transaction, from commit
  to the fake Exotel's arrival (the claim, the row read, the payload's decryption, the HTTP
  request), one at a time and then a burst written in one transaction.

Targets (the member waits for a code; the queue must not be what she waits for): an idle
worker starts a task within 50 ms at p99, a code reaches the provider within 100 ms of commit
at p99, and a worker sends at least 100 codes a second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from common import (
    ROOT,
    CeleryWorker,
    cpu_model,
    free_port,
    machine,
    percentile,
    postgres_setup,
    start_redis,
)

TARGET_START_P99_MS = 50.0
TARGET_DELIVERY_P99_MS = 100.0
TARGET_DELIVERIES_PER_S = 100.0
DLT = '{"code.login": "1107160000000000001", "notification": "1107160000000000002"}'


def floor_consumer(url: str) -> None:
    """The floor, in a process of its own: what the task does, without Celery."""
    import redis

    # redis-py 8 gives up on a read after 5 s by default; this one waits while the run idles.
    client = redis.Redis.from_url(url, socket_timeout=None)
    while True:
        _, raw = client.brpop(["bench:floor"])
        started = time.monotonic()
        if raw == b"stop":
            return
        n, sent = raw.split()
        client.rpush("bench:floor:results", f"{int(n)} {float(sent)!r} {started!r}")


class Stamps:
    """Reads `n sent started` results as they come back, noting when each was back."""

    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def one(self) -> tuple[float, float, float]:
        item = self.client.blpop([self.key], timeout=30)
        back = time.monotonic()
        if item is None:
            raise RuntimeError(f"no result on {self.key} within 30 s")
        _, sent, started = item[1].split()
        return float(sent), float(started), back

    def many(self, count: int) -> list[tuple[float, float, float]]:
        return [self.one() for _ in range(count)]


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.2f} ms  p99 {percentile(values, 99):7.2f} ms"


def latency_round(
    rounds: int, raw: Any, stamps_floor: Stamps, stamps_task: Stamps, results_url: str
) -> dict[str, list[float]]:
    from aurum.queue import publish

    out: dict[str, list[float]] = {k: [] for k in ("floor", "floor_rtt", "task", "task_rtt")}
    out["publish"], out["lpush"] = [], []
    for n in range(rounds):
        sent = time.monotonic()
        raw.lpush("bench:floor", f"{n} {sent!r}")
        out["lpush"].append((time.monotonic() - sent) * 1000)
        s, started, back = stamps_floor.one()
        out["floor"].append((started - s) * 1000)
        out["floor_rtt"].append((back - s) * 1000)

        sent = time.monotonic()
        assert publish("bench.queue_tasks.stamp", n, sent, results_url, queue="bench")
        out["publish"].append((time.monotonic() - sent) * 1000)
        s, started, back = stamps_task.one()
        out["task"].append((started - s) * 1000)
        out["task_rtt"].append((back - s) * 1000)
    return out


def burst(count: int, send: Any, stamps: Stamps) -> tuple[float, float]:
    """Publishes `count` one by one as fast as it can; returns (published/s, started/s)."""
    began = time.monotonic()
    for n in range(count):
        send(n, time.monotonic())
    published = time.monotonic() - began
    results = stamps.many(count)
    starts = sorted(started for _, started, _ in results)
    return count / published, (count - 1) / (starts[-1] - starts[0])


class TimedExotel:
    """The fake Exotel, noting when each message arrived, by its idempotency key."""

    def __init__(self) -> None:
        from deliveries.tests.fakes import FakeExotel

        arrived: dict[str, float] = {}
        changed = threading.Condition()

        class Timed(FakeExotel):
            def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
                at = time.monotonic()
                status, answer = super().answer(path, headers, body)
                if status == 200:
                    key = parse_qs(body.decode())["CustomField"][0]
                    with changed:
                        arrived.setdefault(key, at)
                        changed.notify_all()
                return status, answer

        self.fake = Timed()
        self.arrived, self.changed = arrived, changed

    def wait_for(self, keys: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(k in self.arrived for k in keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sum(k not in self.arrived for k in keys)
                    raise RuntimeError(f"{missing} deliveries never reached the fake Exotel")
                self.changed.wait(left)


def queue_code(key: str, n: int, committed: dict[str, float]) -> None:
    from django.db import transaction
    from django.utils import timezone

    from deliveries import services

    with transaction.atomic():
        transaction.on_commit(lambda: committed.__setitem__(key, time.monotonic()))
        services.queue(
            channel="sms",
            to=f"+9198{n:08d}",
            template="code.login",
            label="Login code",
            key=key,
            text=f"{n % 1_000_000:06d} is your Aurum code to sign in. It expires in 5 minutes.",
            urgent=True,
            expires_at=timezone.now() + dt.timedelta(minutes=5),
        )


def deliveries_phase(
    exotel: TimedExotel, prefix: str, sequential: int, burst_count: int
) -> dict[str, Any]:
    from django.db import transaction

    committed: dict[str, float] = {}
    request_side: list[float] = []
    latency: list[float] = []
    for n in range(sequential):
        key = f"{prefix}:seq:{n}"
        began = time.monotonic()
        queue_code(key, n, committed)
        request_side.append((time.monotonic() - began) * 1000)
        exotel.wait_for([key])
        latency.append((exotel.arrived[key] - committed[key]) * 1000)

    keys = [f"{prefix}:burst:{n}" for n in range(burst_count)]
    with transaction.atomic():
        for n, key in enumerate(keys):
            queue_code(key, n, committed)
    began = committed[keys[0]]
    exotel.wait_for(keys, timeout=300)
    arrivals = sorted(exotel.arrived[k] for k in keys)
    return {
        "latency": latency,
        "request_side": request_side,
        "burst_rate": (burst_count - 1) / (arrivals[-1] - arrivals[0]),
        "burst_drain": arrivals[-1] - began,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=500, help="latency rounds per pool")
    parser.add_argument("--burst", type=int, default=2000, help="messages per throughput burst")
    parser.add_argument("--deliveries", type=int, default=200, help="codes sent one at a time")
    parser.add_argument("--delivery-burst", type=int, default=1000)
    parser.add_argument("--pools", default="solo,prefork,threads")
    parser.add_argument("--floor-consumer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_consumer:
        floor_consumer(args.floor_consumer)
        return

    import redis

    redis_port = free_port()
    broker_url = f"redis://127.0.0.1:{redis_port}/0"
    results_url = f"redis://127.0.0.1:{redis_port}/1"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/2"  # cache, as in production
    os.environ["CELERY_BROKER_URL"] = broker_url
    redis_server = start_redis(redis_port)
    procs: list[Any] = [redis_server]
    try:
        db_url, env = postgres_setup("celery_queue.py", "aurum_benchq")
        from deliveries.models import Delivery

        Delivery.objects.filter(idempotency_key__startswith="benchq:").delete()
        exotel = TimedExotel()
        fake = exotel.fake
        worker_env = {
            **env,
            "LOG_LEVEL": "INFO",  # as the unit runs it: a line per task
            "DATABASE_URL": db_url,
            "REDIS_URL": os.environ["REDIS_URL"],
            "CELERY_BROKER_URL": broker_url,
            "SMS_BACKEND": "deliveries.backends.ExotelSms",
            "SMS_EXOTEL_URL": fake.url,
            "SMS_EXOTEL_SID": fake.sid,
            "SMS_EXOTEL_API_KEY": fake.key,
            "SMS_EXOTEL_API_TOKEN": fake.token,
            "SMS_SENDER_ID": "AURUMM",
            "SMS_DLT_ENTITY_ID": "1101160000000000009",
            "SMS_DLT_TEMPLATES": DLT,
        }
        consumer = subprocess.Popen(
            [sys.executable, __file__, "--floor-consumer", results_url], cwd=ROOT
        )
        procs.append(consumer)
        raw = redis.Redis.from_url(results_url, socket_timeout=None)
        stamps_floor = Stamps(raw, "bench:floor:results")
        stamps_task = Stamps(raw, "bench:stamps")
        from aurum.queue import publish

        log_dir = ROOT / "var" / "bench-queue"
        results: dict[str, dict[str, Any]] = {}
        cores = os.cpu_count() or 1
        for pool in args.pools.split(","):
            concurrency = 1 if pool == "solo" else cores
            worker = CeleryWorker(
                worker_env,
                log_dir / f"worker-{pool}.log",
                pool=pool,
                concurrency=concurrency,
                queues="codes,deliveries,schedules,bench",
                include="bench.queue_tasks",
            )
            ready_in = worker.start()
            procs.append(worker)
            try:
                latency_round(50, raw, stamps_floor, stamps_task, results_url)  # warm-up
                lat = latency_round(args.tasks, raw, stamps_floor, stamps_task, results_url)
                floor_rate = burst(
                    args.burst,
                    lambda n, sent: raw.lpush("bench:floor", f"{n} {sent!r}"),
                    stamps_floor,
                )
                task_rate = burst(
                    args.burst,
                    lambda n, sent: publish(
                        "bench.queue_tasks.stamp", n, sent, results_url, queue="bench"
                    ),
                    stamps_task,
                )
                prefix = f"benchq:{uuid.uuid4().hex[:8]}:{pool}"
                deliveries_phase(exotel, f"{prefix}:warm", 20, 2)  # warm-up
                deliv = deliveries_phase(exotel, prefix, args.deliveries, args.delivery_burst)
            finally:
                worker.stop()
                procs.remove(worker)
            results[pool] = {
                "concurrency": concurrency,
                "ready_in": ready_in,
                "lat": lat,
                "floor_rate": floor_rate,
                "task_rate": task_rate,
                "deliv": deliv,
            }
        raw.lpush("bench:floor", "stop")
        consumer.wait(timeout=10)
        fake.stop()
    finally:
        for proc in reversed(procs):
            if isinstance(proc, CeleryWorker):
                proc.kill()
            elif proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)

    version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True
    ).stdout.split()[2]
    import celery

    print(f"date: {dt.date.today()}; machine: {machine()}, nproc {os.cpu_count()}, {cpu_model()}")
    print(
        f"broker: own redis-server {version.removeprefix('v=')} on port {redis_port}, no "
        f"persistence; PostgreSQL {db_url.rsplit('/', 1)[-1]}; celery {celery.__version__} "
        "-A aurum worker, acks_late, prefetch 1; the client, the worker, Redis, PostgreSQL and "
        "the fake Exotel share the machine"
    )
    ok = True
    for pool, r in results.items():
        lat, deliv = r["lat"], r["deliv"]
        floor_p50 = statistics.median(lat["floor"])
        task_p50 = statistics.median(lat["task"])
        print(
            f"\npool {pool}, concurrency {r['concurrency']} (ready in {r['ready_in']:.1f} s); "
            f"{args.tasks} messages each, floor and task taking turns"
        )
        print(f"  floor  LPUSH -> BRPOP, one way          {ms(lat['floor'])}")
        print(f"  floor  round trip (result back)         {ms(lat['floor_rtt'])}")
        print(
            f"  task   enqueue -> start                 {ms(lat['task'])}"
            f"  = {task_p50 / floor_p50:.1f} x floor p50"
        )
        print(
            f"  task   round trip (result back)         {ms(lat['task_rtt'])}"
            f"  = {statistics.median(lat['task_rtt']) / statistics.median(lat['floor_rtt']):.1f}"
            " x floor p50"
        )
        print(
            f"  client LPUSH {statistics.median(lat['lpush']):.3f} ms p50; publish (apply_async) "
            f"{ms(lat['publish'])}"
        )
        fr, tr = r["floor_rate"], r["task_rate"]
        print(
            f"  burst of {args.burst}: floor {fr[1]:8.0f} msg/s (published {fr[0]:.0f}/s); "
            f"tasks {tr[1]:6.0f} tasks/s (published {tr[0]:.0f}/s) = {100 * tr[1] / fr[1]:.1f} %"
            " of the floor"
        )
        print(
            f"  delivery commit -> fake Exotel          {ms(deliv['latency'])}"
            f"  ({args.deliveries} one at a time; queue() + commit + publish in the caller "
            f"p50 {statistics.median(deliv['request_side']):.2f} ms)"
        )
        print(
            f"  delivery burst of {args.delivery_burst} in one transaction: "
            f"{deliv['burst_rate']:.0f} deliveries/s, all at the provider "
            f"{deliv['burst_drain']:.2f} s after commit"
        )
        checks = [
            (f"task start p99 <= {TARGET_START_P99_MS:.0f} ms",
             percentile(lat["task"], 99) <= TARGET_START_P99_MS),
            (f"delivery commit -> provider p99 <= {TARGET_DELIVERY_P99_MS:.0f} ms",
             percentile(deliv["latency"], 99) <= TARGET_DELIVERY_P99_MS),
            (f"deliveries/s >= {TARGET_DELIVERIES_PER_S:.0f}",
             deliv["burst_rate"] >= TARGET_DELIVERIES_PER_S),
        ]  # fmt: skip
        for label, passed in checks:
            ok &= passed
            print(f"  {'PASS' if passed else 'FAIL'}  {label}")
    print("\nPASS: every target met" if ok else "\nFAIL: a target missed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
