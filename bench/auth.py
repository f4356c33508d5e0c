"""Login latency and throughput against the floor of one Argon2 verify, in one run; and what
the per-request revocation check (a revoked session's access tokens refused at once) costs.

    .venv/bin/python bench/auth.py [--requests 300] [--concurrency 4]

Starts the app under uvicorn (one worker) on a free port with its own database (SQLite under
var/ unless DATABASE_URL is set), logs one member in over HTTP again and again, and compares
the login's p50 with the p50 of one `check_password` on the same machine. Target: ratio <= 1.5.
Then times `GET auth/me` with a token, and the revocation check alone against the cache the
app uses (local memory, or Redis with REDIS_URL). Target: the check's p50 <= 0.5 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time

from common import ROOT, ensure_postgres_database, machine, percentile, setup_django, uvicorn

PASSWORD = "Backwaters-and-monsoon-9"
EMAIL = "bench-login@aurum.test"
TARGET_RATIO = 1.5
TARGET_REVOCATION_MS = 0.5


def ensure_user() -> str:
    from accounts.models import User

    user = User.objects.filter(email=EMAIL).first() or User(email=EMAIL, first_name="Bench")
    user.set_password(PASSWORD)  # the production hasher: Argon2id, OWASP parameters
    user.is_active = True
    user.save()
    return user.password


def verify_floor(encoded: str, rounds: int) -> list[float]:
    """The floor: what one login cannot avoid, one Argon2id check of the password."""
    from django.contrib.auth.hashers import check_password

    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert check_password(PASSWORD, encoded)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def login_once(conn: http.client.HTTPConnection) -> float:
    body = json.dumps({"identifier": EMAIL, "password": PASSWORD})
    start = time.perf_counter()
    conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise RuntimeError(f"login answered {response.status}: {payload[:200]!r}")
    return elapsed


def me_once(conn: http.client.HTTPConnection, access: str) -> float:
    start = time.perf_counter()
    conn.request("GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"auth/me answered {response.status}")
    return (time.perf_counter() - start) * 1000


def revocation_check(access: str, rounds: int) -> list[float]:
    """The check each authenticated request makes: is the token's session revoked?"""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import session_revoked

    claims = AccessToken(access)
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert not session_revoked(claims)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    env = {
        "AURUM_ENV": "dev",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        # The bench logs one member in hundreds of times from one address.
        "RATE_LOGIN_IP": "1000000/m",
        "RATE_LOGIN_IDENTIFIER": "1000000/m",
    }
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        ensure_postgres_database(os.environ["DATABASE_URL"])
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench-auth.sqlite3'}"
    setup_django(env)
    encoded = ensure_user()

    with uvicorn(env) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(10):
            login_once(conn)  # warm-up
        # Interleaved, one verify then one login, so both meet the same machine conditions
        # (this 2-core machine is noisy from second to second).
        floor: list[float] = []
        sequential: list[float] = []
        for _ in range(args.requests):
            floor.extend(verify_floor(encoded, rounds=1))
            sequential.append(login_once(conn))

        concurrent: list[float] = []
        lock = threading.Lock()
        per_client = args.requests // args.concurrency

        def client() -> None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine = [login_once(c) for _ in range(per_client)]
            with lock:
                concurrent.extend(mine)

        start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start

        conn.request(
            "POST",
            "/api/v1/auth/login",
            json.dumps({"identifier": EMAIL, "password": PASSWORD}),
            {"Content-Type": "application/json"},
        )
        access = json.loads(conn.getresponse().read())["access_token"]
        me = [me_once(conn, access) for _ in range(args.requests)]
        check = revocation_check(access, rounds=args.requests * 10)
    from django.conf import settings

    floor_p50 = statistics.median(floor)
    login_p50 = statistics.median(sequential)
    ratio = login_p50 / floor_p50
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"machine: {machine()}")
    print(f"database: {database}; server: uvicorn, 1 worker; {args.requests} logins per phase")
    print(f"floor  one Argon2id verify (m=19 MiB, t=2, p=1): p50 {floor_p50:.1f} ms")
    print(
        f"login  one client:  p50 {login_p50:.1f} ms  p95 {percentile(sequential, 95):.1f} ms"
        f"  p99 {percentile(sequential, 99):.1f} ms"
        f"  ({1000 / statistics.mean(sequential):.1f} logins/s)"
    )
    print(
        f"login  {args.concurrency} clients:  p50 {statistics.median(concurrent):.1f} ms"
        f"  p95 {percentile(concurrent, 95):.1f} ms  ({len(concurrent) / wall:.1f} logins/s)"
    )
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"ratio  login p50 / verify p50 = {ratio:.2f}  ({verdict} the target <= {TARGET_RATIO})")
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    check_p50, me_p50 = statistics.median(check), statistics.median(me)
    check_ok = check_p50 <= TARGET_REVOCATION_MS
    print(
        f"auth/me with a token: p50 {me_p50:.2f} ms  p95 {percentile(me, 95):.2f} ms; "
        f"of which the revocation check ({cache}): p50 {check_p50 * 1000:.0f} us  "
        f"p99 {percentile(check, 99) * 1000:.0f} us = {100 * check_p50 / me_p50:.1f} % "
        f"({'meets' if check_ok else 'MISSES'} the target <= {TARGET_REVOCATION_MS} ms)"
    )
    sys.exit(0 if ratio <= TARGET_RATIO and check_ok else 1)


if __name__ == "__main__":
    main()
