"""`POST /api/v1/auth/otp/send` before and after the queue, in one run.

    .venv/bin/python bench/otp_send.py [--requests 300] [--setups embedded,postgres]
                                       [--old-commit ade620a]

Before the queue (`--old-commit`, ade620a) the request stored the code and handed its SMS to
a thread pool in the server; now it writes the code and its delivery row in one transaction
and, after commit, either hands the task to the broker (with one) or runs it in-process (the
embedded default: the SMS is sent inline, through the file outbox in development). The old
tree is exported with `git archive` under var/bench-otp/ (once; its .venv is this one's).
Each setup starts two uvicorn servers (one worker each), one from each tree, on databases of
their own, and takes turns between them, request by request (which goes first alternates),
for an existing member's phone and for a number with no account:

- embedded: SQLite, no Redis, no broker (as `make run`);
- postgres: PostgreSQL (`aurum_benchq` new, `aurum_benchq_old` old; DATABASE_URL's server),
  an own redis-server for the cache and rate limits of both and the new one's broker, and a
  real `celery -A aurum worker --pool=solo --queues=codes` sending the new one's codes.

Rate limits are raised for the run (RATE_OTP_SEND_*). At the end each side's outbox must
hold every code. Target: the new p50 for an existing member within 10 % of the old one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    CeleryWorker,
    cpu_model,
    ensure_postgres_database,
    free_port,
    machine,
    percentile,
    server_process,
    start_redis,
)

TARGET_RATIO = 1.10
UNKNOWN = "+919847000999"
RATES = {
    "RATE_OTP_SEND_PHONE_HOUR": "10000000/h",
    "RATE_OTP_SEND_PHONE_DAY": "10000000/d",
    "RATE_OTP_SEND_IP": "10000000/h",
}
# Run in each tree's own Django: the member exists and is active, with no codes left over.
MEMBER = """
from accounts.models import OneTimeCode, User
phone = {phone!r}
user = User.objects.filter(phone=phone).first() or User(phone=phone, first_name="Bench")
user.email = f"bench-otp-{{phone[1:]}}@aurum.test"
user.is_active = True
user.set_unusable_password()
user.save()
OneTimeCode.objects.filter(user=user).delete()
try:
    from deliveries.models import Delivery
except ImportError:
    pass
else:
    Delivery.objects.filter(user=user).delete()
"""


def old_tree(commit: str) -> Path:
    """The tree at `commit`, exported once under var/bench-otp/, with this tree's .venv."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", commit],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = ROOT / "var" / "bench-otp" / sha
    if not (tree / "manage.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(["git", "archive", sha], cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
        archive.wait()
    if not (tree / ".venv").exists():
        (tree / ".venv").symlink_to((ROOT / ".venv").resolve())
    return tree


def manage(tree: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(tree / ".venv" / "bin" / "python"), "manage.py", *args],
        cwd=tree,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args[:1])} failed in {tree}:\n{done.stderr}")
    return done.stdout


# The new tree's delivery rows: a code a newer one replaced before it went is given up, not
# sent (it could no longer sign anyone in), so "every code" means sent or replaced.
ROWS = (
    "import json; from collections import Counter; from deliveries.models import Delivery; "
    "rows = Delivery.objects.values_list('status', 'last_error'); "
    "print(json.dumps({'pending': sum(s in ('pending', 'failed') for s, _ in rows), "
    "'replaced': sum(e == 'a newer code replaced it' for _, e in rows)}))"
)


def settled_rows(tree: Path, env: dict[str, str], seconds: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    while True:
        counts = json.loads(manage(tree, env, "shell", "-c", ROWS).strip().splitlines()[-1])
        if not counts["pending"] or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def send(conn: http.client.HTTPConnection, phone: str) -> float:
    body = json.dumps({"phone": phone})
    start = time.perf_counter()
    conn.request("POST", "/api/v1/auth/otp/send", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 202:
        raise RuntimeError(f"otp/send answered {response.status}: {payload[:200]!r}")
    return elapsed


def outbox_count(folder: Path, phone: str) -> int:
    return len(list(folder.glob(f"*-{phone.lstrip('+')}.txt"))) if folder.exists() else 0


def wait_for(folder: Path, phone: str, count: int, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while outbox_count(folder, phone) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return outbox_count(folder, phone)


def run_setup(setup: str, old: Path, requests: int, tmp: Path) -> dict[str, Any]:
    base = {"AURUM_ENV": "dev", "DEBUG": "0", "LOG_LEVEL": "WARNING", **RATES}
    # Nothing from this shell decides which Redis, broker or database a server uses.
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "SMS_BACKEND"):
        os.environ.pop(name, None)
    outbox = tmp / f"{setup}-sms"  # the new tree's (files named by phone)
    old_outbox = old / "var" / "outbox" / "sms"  # ade620a's FileOutboxSender writes here
    shutil.rmtree(old_outbox, ignore_errors=True)
    new_env = {**base, "SMS_BACKEND": "deliveries.backends.FileOutboxSms"}
    new_env["SMS_OUTBOX_DIR"] = str(outbox)
    old_env = dict(base)
    sides = [
        ("old", old, old_env, "aurum.asgi:application"),
        ("new", ROOT, new_env, "aurum.asgi:application"),
    ]
    phones = {name: f"+91984700010{i}" for i, (name, *_) in enumerate(sides)}
    with ExitStack() as stack:
        if setup == "embedded":
            for name, _, env, _ in sides:
                env["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / f'bench-otp-{name}.sqlite3'}"
            shape = "SQLite, no Redis, no broker: the new code sends inline after commit"
        else:
            server = os.environ.get("DATABASE_URL_BASE", "postgresql://postgres@127.0.0.1:5432")
            for name, _, env, _ in sides:
                # The new tree's servers share a database (each its own member).
                env["DATABASE_URL"] = f"{server}/aurum_benchq{'_old' if name == 'old' else ''}"
                ensure_postgres_database(env["DATABASE_URL"])
            port = free_port()
            redis_server = start_redis(port)
            stack.callback(redis_server.wait, timeout=10)
            stack.callback(redis_server.terminate)
            for db, (_, _, env, _) in enumerate(sides, start=1):
                env["REDIS_URL"] = f"redis://127.0.0.1:{port}/{db}"
                if env is not old_env:
                    env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
            shape = (
                "PostgreSQL + own Redis (cache, rate limits; the new one's broker); the new code "
                "publishes the task, a solo worker on `codes` sends it"
            )
        for name, tree, env, _ in sides:
            manage(tree, env, "migrate", "--noinput")
            manage(tree, env, "shell", "-c", MEMBER.format(phone=phones[name]))
        if setup == "postgres":
            worker = CeleryWorker(new_env, tmp / "worker.log", queues="codes")
            worker.start()
            stack.callback(worker.stop)
        conns = {}
        for name, tree, env, app in sides:
            port, _ = stack.enter_context(server_process(env, app=app, root=tree))
            conns[name] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        warm = 20
        for _ in range(warm):
            for name, conn in conns.items():
                send(conn, phones[name])
                send(conn, UNKNOWN)
        timings: dict[str, list[float]] = {
            f"{side} {who}": [] for side in conns for who in ("member", "unknown")
        }
        names = list(conns)
        for n in range(requests):
            order = names[n % len(names) :] + names[: n % len(names)]  # who goes first turns
            for side in order:
                timings[f"{side} member"].append(send(conns[side], phones[side]))
            for side in order:
                timings[f"{side} unknown"].append(send(conns[side], UNKNOWN))
        sent = warm + requests
        replaced = settled_rows(ROOT, new_env)["replaced"]
        delivered = {
            name: wait_for(old_outbox if name == "old" else outbox, phones[name], sent)
            if name == "old"
            else wait_for(outbox, phones[name], sent - replaced) + replaced
            for name in conns
        }
    return {"shape": shape, "timings": timings, "sent": sent, "delivered": delivered,
            "replaced": replaced}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--setups", default="embedded,postgres")
    parser.add_argument("--old-commit", default="ade620a")
    args = parser.parse_args()
    old = old_tree(args.old_commit)
    tmp = Path(tempfile.mkdtemp(prefix="aurum-otp-"))
    results = {setup: run_setup(setup, old, args.requests, tmp) for setup in args.setups.split(",")}

    print(f"date: {dt.date.today()}; machine: {machine()}, nproc {os.cpu_count()}, {cpu_model()}")
    print(
        f"POST /api/v1/auth/otp/send, {args.requests} requests per case after 20 warm-up, the "
        f"servers taking turns; old = {args.old_commit} (SMS in a 4-thread pool in the server)"
    )
    ok = True
    for setup, r in results.items():
        t = r["timings"]
        print(f"\n{setup}: {r['shape']}")
        for case, values in t.items():
            print(
                f"  {case:19s} p50 {statistics.median(values):6.2f} ms  "
                f"p95 {percentile(values, 95):6.2f} ms  p99 {percentile(values, 99):6.2f} ms"
            )
        ratio = statistics.median(t["new member"]) / statistics.median(t["old member"])
        sides = [case.split()[0] for case in t if case.endswith("member")]
        gap = {
            side: statistics.median(t[f"{side} member"]) - statistics.median(t[f"{side} unknown"])
            for side in sides
        }
        print(
            "  an existing member's request takes longer than an unknown number's at p50 by "
            + ", ".join(f"{gap[side]:.2f} ms ({side})" for side in sides)
        )
        delivered = r["delivered"]
        print(
            "  codes sent (new: or replaced by a newer one before it went, "
            f"{r['replaced']}): "
            + ", ".join(f"{side} {delivered[side]}/{r['sent']}" for side in sides)
        )
        passed = ratio <= TARGET_RATIO and all(v == r["sent"] for v in delivered.values())
        ok &= passed
        print(
            f"  {'PASS' if passed else 'FAIL'}  new p50 / old p50 = {ratio:.2f} "
            f"(target <= {TARGET_RATIO:.2f}; every code delivered)"
        )
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
