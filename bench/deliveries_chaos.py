"""Deliveries under faults: every one reaches the provider once, none is left pending.

    .venv/bin/python bench/deliveries_chaos.py [--deliveries 1000] [--seconds 15] [--kills 2]
                                               [--pool solo] [--appendonly] [--provider-delay 0]

Starts its own redis-server on a free port (the broker; no persistence unless --appendonly,
then an append-only file fsynced every second), a local server that answers as Exotel does
(deliveries/tests/fakes.py) with SMS_BACKEND=deliveries.backends.ExotelSms pointed at it, a
real `celery -A aurum worker` and `celery beat` (the sweeper every second; a lease of 3 s, a
row swept 2 s after it is due), on PostgreSQL (`aurum_benchq`, or DATABASE_URL). This process
queues `--deliveries` SMS through `deliveries.services.queue`, each in its own transaction as
a request would (half login codes on `codes`, half notifications on `deliveries`), spread
over `--seconds`, while the run kills the worker with SIGKILL `--kills` times (its whole
process group; started again 2 s later, as the unit's RestartSec=2 would) and then kills
Redis (SIGKILL) and starts it again a second later: without persistence it comes back empty,
its queue lost, and the sweeper must queue the rows again. The fake counts what it accepted by
CustomField (the idempotency key the backend sends Exotel).

Targets: every delivery at the provider, none pending; none delivered twice. A kill that
lands after the request left for the provider and before the row's UPDATE commits leaves a
row the sweeper sends again: the run prints each such duplicate with the kill that caused it.
`--provider-delay 0.1` answers as slowly as a real gateway does; `--stop` stops the worker as
systemd does on a restart or deploy (SIGTERM: a warm shutdown finishes what it runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from common import (
    ROOT,
    CeleryWorker,
    cpu_model,
    free_port,
    machine,
    postgres_setup,
    start_redis,
)

LEASE_SECONDS = 3
SWEEP_AFTER_SECONDS = 2
SWEEP_EVERY_SECONDS = 1
RESTART_AFTER = 2.0  # deploy/systemd/aurum-worker@.service: Restart=always, RestartSec=2
REDIS_DOWN = 1.0
DLT = '{"code.login": "1107160000000000001", "notification": "1107160000000000002"}'


class CountingExotel:
    """The fake Exotel, keeping every acceptance's time by idempotency key."""

    def __init__(self, delay: float) -> None:
        from deliveries.tests.fakes import FakeExotel

        arrivals: dict[str, list[float]] = {}
        lock = threading.Lock()

        class Counting(FakeExotel):
            def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
                status, answer = super().answer(path, headers, body)
                if status == 200:
                    key = parse_qs(body.decode())["CustomField"][0]
                    with lock:
                        arrivals.setdefault(key, []).append(time.monotonic())
                return status, answer

        self.fake = Counting()
        self.fake.delay = delay
        self.arrivals, self.lock = arrivals, lock
        self.unread = 0  # answers whose sender was gone (killed) before it could read them

        def handle_error(request: Any, client_address: Any) -> None:
            if isinstance(sys.exc_info()[1], ConnectionError):
                self.unread += 1
            else:
                traceback.print_exc()

        self.fake.server.handle_error = handle_error  # type: ignore[method-assign]

    def counts(self, keys: list[str]) -> Counter[int]:
        with self.lock:
            return Counter(len(self.arrivals.get(k, [])) for k in keys)


class Refusals(logging.Handler):
    """Counts the publishes the broker refused (aurum.queue logs each; the row stays)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def produce(keys: list[str], seconds: float, began: float, done: list[float]) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from deliveries import services

    for n, key in enumerate(keys):
        time.sleep(max(0.0, began + seconds * n / len(keys) - time.monotonic()))
        code = n % 2 == 0
        with transaction.atomic():
            services.queue(
                channel="sms",
                to=f"+9198{n:08d}",
                template="code.login" if code else "notification.interest_received",
                label="Login code" if code else "Interest received",
                key=key,
                text=f"{n:06d} is your Aurum code." if code else "Someone sent you an interest.",
                urgent=code,
                expires_at=timezone.now() + dt.timedelta(minutes=10) if code else None,
            )
    done.append(time.monotonic())
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0, help="spread the queueing over")
    parser.add_argument("--kills", type=int, default=2, help="worker SIGKILLs")
    parser.add_argument(
        "--stop", action="store_true", help="stop the worker (SIGTERM, warm) instead of killing it"
    )
    parser.add_argument("--pool", default="solo", choices=["solo", "threads", "prefork"])
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--appendonly", action="store_true", help="Redis keeps an AOF")
    parser.add_argument("--provider-delay", type=float, default=0.0, help="seconds per SMS")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    args = parser.parse_args()

    redis_port = free_port()
    broker_url = f"redis://127.0.0.1:{redis_port}/0"
    tmp = Path(tempfile.mkdtemp(prefix="aurum-chaos-"))
    aof_dir = tmp / "redis" if args.appendonly else None
    settings_env = {
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/2",
        "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "DELIVERY_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER_SECONDS),
        "DELIVERY_SWEEP_EVERY_SECONDS": str(SWEEP_EVERY_SECONDS),
        "DELIVERY_BACKOFF_BASE_SECONDS": "0.5",
    }
    os.environ.update(settings_env)
    redis_server = start_redis(redis_port, aof_dir)
    db_url, env = postgres_setup("deliveries_chaos.py", "aurum_benchq", log_level="CRITICAL")
    refusals = Refusals()
    queue_log = logging.getLogger("aurum.queue")
    queue_log.setLevel(logging.ERROR)
    queue_log.propagate = False  # counted, not printed (each would be a traceback)
    queue_log.handlers = [refusals]

    from deliveries.models import Delivery, Status

    run = uuid.uuid4().hex[:8]
    prefix = f"chaos:{run}:"
    Delivery.objects.filter(idempotency_key__startswith="chaos:").delete()
    # The sweeper sends whatever is due in the database: another run's leftovers would reach
    # this run's fake and be counted as its worker's work.
    leftovers = Delivery.objects.filter(status__in=[Status.PENDING, Status.FAILED]).delete()[0]
    exotel = CountingExotel(args.provider_delay)
    fake = exotel.fake
    worker_env = {
        **env,
        **settings_env,
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": db_url,
        "SMS_BACKEND": "deliveries.backends.ExotelSms",
        "SMS_EXOTEL_URL": fake.url,
        "SMS_EXOTEL_SID": fake.sid,
        "SMS_EXOTEL_API_KEY": fake.key,
        "SMS_EXOTEL_API_TOKEN": fake.token,
        "SMS_SENDER_ID": "AURUMM",
        "SMS_DLT_ENTITY_ID": "1101160000000000009",
        "SMS_DLT_TEMPLATES": DLT,
    }
    concurrency = 1 if args.pool == "solo" else args.concurrency
    worker = CeleryWorker(
        worker_env,
        tmp / "worker.log",
        pool=args.pool,
        concurrency=concurrency,
        queues="codes,deliveries,schedules",
    )
    worker.start()
    beat_log = open(tmp / "beat.log", "ab")
    beat = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "aurum", "beat", "--loglevel=INFO",
         f"--schedule={tmp / 'beat-schedule'}"],
        cwd=ROOT, env={**os.environ, **worker_env}, stdout=beat_log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    keys = [f"{prefix}{n}" for n in range(args.deliveries)]
    began = time.monotonic()
    produced: list[float] = []
    producer = threading.Thread(target=produce, args=(keys, args.seconds, began, produced))
    producer.start()
    events: list[tuple[float, str]] = []
    kills: list[float] = []

    def at(second: float) -> None:
        time.sleep(max(0.0, began + second - time.monotonic()))

    def now() -> float:
        return time.monotonic() - began

    slots = args.kills + 2
    try:
        for k in range(args.kills):
            at(args.seconds * (k + 1) / slots)
            kills.append(time.monotonic())
            if args.stop:
                worker.stop()
                events.append((now(), f"worker stopped (SIGTERM, warm shutdown, {args.pool} pool)"))
            else:
                worker.kill()
                events.append((now(), f"worker killed (SIGKILL, {args.pool} pool)"))
            time.sleep(RESTART_AFTER)
            worker.start()
            events.append((now(), "worker started again and ready"))
        at(args.seconds * (args.kills + 1) / slots)
        redis_server.kill()
        redis_server.wait()
        events.append((now(), "Redis killed (SIGKILL)"))
        time.sleep(REDIS_DOWN)
        redis_server = start_redis(redis_port, aof_dir)
        queued_after = sum(
            redis_server_len(broker_url, q) for q in ("codes", "deliveries", "schedules")
        )
        unsent = (
            Delivery.objects.filter(idempotency_key__startswith=prefix)
            .exclude(status=Status.SENT)
            .count()
        )
        events.append(
            (now(), f"Redis started again, {queued_after} messages in its queues "
                    f"({'append-only file' if args.appendonly else 'no persistence'}); "
                    f"{unsent} rows queued so far unsent")
        )  # fmt: skip
        last_fault = time.monotonic()
        producer.join()
        events.append((now(), f"the last of {args.deliveries} deliveries queued"))

        deadline = time.monotonic() + args.drain_timeout
        drained_at = None
        while time.monotonic() < deadline:
            unsent = (
                Delivery.objects.filter(idempotency_key__startswith=prefix)
                .exclude(status=Status.SENT)
                .count()
            )
            if unsent == 0 and exotel.counts(keys)[0] == 0:
                drained_at = time.monotonic()
                break
            time.sleep(0.1)
        time.sleep(LEASE_SECONDS + SWEEP_AFTER_SECONDS + 1)  # anything late would show now
    finally:
        beat.terminate()
        beat.wait(timeout=20)
        worker.stop()
        redis_server.terminate()
        redis_server.wait(timeout=10)
        fake.stop()

    counts = exotel.counts(keys)
    rows = Counter(
        Delivery.objects.filter(idempotency_key__startswith=prefix).values_list("status", flat=True)
    )
    resent = Delivery.objects.filter(idempotency_key__startswith=prefix, attempts__gt=1).count()
    log = (tmp / "worker.log").read_text(errors="replace")
    runs = Counter(
        re.findall(r"Task deliveries\.send\[[^\]]+\] succeeded in [\d.e-]+s: '(\w+)'", log)
    )
    sweeps = re.findall(r"swept (\d+) deliveries back onto the queue", log)
    import celery

    persistence = "appendonly, fsync every second" if args.appendonly else "no persistence"
    print(f"date: {dt.date.today()}; machine: {machine()}, nproc {os.cpu_count()}, {cpu_model()}")
    print(
        f"setup: own redis-server ({persistence}); "
        f"celery {celery.__version__} worker --pool={args.pool}"
        f"{'' if args.pool == 'solo' else f' --concurrency={concurrency}'}, celery beat sweeping "
        f"every {SWEEP_EVERY_SECONDS} s; lease {LEASE_SECONDS} s, swept {SWEEP_AFTER_SECONDS} s "
        f"after due; PostgreSQL {db_url.rsplit('/', 1)[-1]}; fake Exotel "
        f"(answers after {args.provider_delay * 1000:.0f} ms)"
    )
    if leftovers:
        print(f"(deleted {leftovers} unsent rows an earlier run had left in the database)")
    print("events:")
    for second, what in events:
        print(f"  {second:6.2f} s  {what}")
    print(
        f"queued {args.deliveries} deliveries over {produced[0] - began:.1f} s; the broker refused "
        f"{refusals.count} publishes (their rows left to the sweeper)"
    )
    twice = sum(v for c, v in counts.items() if c >= 2)
    never = counts[0]
    print(
        f"at the fake Exotel, by CustomField: delivered once {counts[1]}, twice or more {twice}, "
        f"never {never}; {exotel.unread} answers the sender was no longer there to read"
    )
    print(
        "rows: "
        + ", ".join(f"{s} {rows.get(s, 0)}" for s in Status.values)
        + f"; sent on a later attempt (attempts > 1): {resent}"
    )
    print(
        f"worker task runs: {dict(runs)} (a 'skipped' run found its row sent or held: a message "
        f"the sweeper queued again while the first still waited); sweeps that queued rows: "
        f"{len(sweeps)}, {sum(int(s) for s in sweeps)} rows in all"
    )
    if drained_at is not None:
        print(
            f"drained: every delivery at the provider {drained_at - produced[0]:.2f} s after the "
            f"last was queued, {drained_at - last_fault:.2f} s after the last fault "
            f"({drained_at - began:.1f} s in all)"
        )
    else:
        print(f"NOT drained within {args.drain_timeout:.0f} s")
    with exotel.lock:
        doubles = {k: v for k, v in exotel.arrivals.items() if k in set(keys) and len(v) > 1}
    for key, times in sorted(doubles.items(), key=lambda kv: kv[1][0]):
        row = Delivery.objects.get(idempotency_key=key)
        near = min(kills, key=lambda k: abs(k - times[0])) if kills else None
        gap = 1000 * (near - times[0]) if near else 0.0
        cause = f"; first accepted {abs(gap):.0f} ms {'before' if gap >= 0 else 'after'} a kill"
        print(
            f"  twice: {key} attempts {row.attempts}, at the provider at "
            + ", ".join(f"{t - began:.2f} s" for t in times)
            + cause
        )
    complete = never == 0 and rows.get(Status.SENT, 0) == args.deliveries
    once = twice == 0
    print(f"{'PASS' if complete else 'FAIL'}  every delivery at the provider, none left pending")
    print(f"{'PASS' if once else 'FAIL'}  none delivered twice ({twice} of {args.deliveries})")
    print(f"(logs: {tmp})")
    sys.exit(0 if complete and once else 1)


def redis_server_len(url: str, queue: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).llen(queue))


if __name__ == "__main__":
    main()
