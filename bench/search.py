"""Search at a million profiles, against its floors, in one run (the feed has bench/feed.py).

    .venv/bin/python bench/search.py [--profiles 1000000] [--rounds 200]

Needs PostgreSQL and Redis (the production setup): DATABASE_URL defaults to bench/feed.py's
`aurum_bench_feed` database on 127.0.0.1 (created if missing), REDIS_URL to Redis database 14.
The members are made by `seed_demo --preferences realistic` and reused by later runs (a
million take 8-19 minutes once, with VACUUM ANALYZE; the preferences do not change who the
members are, so search sees the same people either way).

Starts the app under uvicorn (one worker) and asks, one request at a time, each case
interleaved with the others in a new order every round so all meet the same machine
conditions:
  floor  framework: GET auth/me, a trivial authenticated DRF endpoint (JWT, one query, JSON)
  floor  SQL: the exact statement the page runs, raw through psycopg
  search: a groom seeking a bride of 24-30, Hindu Nair or Ezhava, Ernakulam or Thrissur,
          height >= 155: page 1 and page 50 (reached by following `next`)
Targets: search p50 <= 1.5 x (framework + SQL); page 50 <= 1.2 x page 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from common import interleaved, machine, percentile, postgres_setup, uvicorn

TYPICAL = {
    "age_min": 24,
    "age_max": 30,
    "religion": "hindu",
    "caste": "nair,ezhava",
    "district": "ernakulam,thrissur",
    "height_min": 155,
}
SEED = 42  # seed_demo's default, so `make run`-style data is reused


def prepare(profiles: int) -> tuple[object, str]:
    """The members (seeded once), and the groom who searches, with a token."""
    from django.core.management import call_command

    from accounts.services import tokens_issue
    from profiles.models import PartnerPreferences, Profile

    call_command("seed_demo", profiles=profiles, seed=SEED, preferences="realistic", verbosity=0)
    groom = (
        Profile.objects.filter(
            gender="male", religion="hindu", user__email__endswith=f".s{SEED}@demo.aurum.test"
        )
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    assert groom is not None, "no seeded groom: run with more --profiles"
    PartnerPreferences.objects.filter(profile=groom).update(
        age_min=24, age_max=30, religions=["hindu"], castes=["nair", "ezhava"]
    )
    return groom.user, tokens_issue(user=groom.user).access_token


def page_sql(run: Callable[[], object]) -> str:
    """The statement a page runs (its last query), with its parameters bound."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    return captured.captured_queries[-1]["sql"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    url, env = postgres_setup("search.py", "aurum_bench_feed")

    import psycopg
    from django.http import QueryDict

    from matching import search
    from matching.serializers import SearchQuery, query_data

    started = time.perf_counter()
    groom, token = prepare(args.profiles)
    print(f"members ready in {time.perf_counter() - started:.0f} s")
    params = QueryDict(urlencode(TYPICAL))
    query = SearchQuery(data=query_data(params, SearchQuery.LIST_FIELDS))
    query.is_valid(raise_exception=True)
    search_sql = page_sql(lambda: search.search_page(viewer=groom, filters=query.validated_data))
    # Planned on every execution, as Django runs it (psycopg would otherwise prepare a
    # statement run five times, and the floor would measure prepared against unprepared).
    raw = psycopg.connect(url, autocommit=True, prepare_threshold=None)

    def sql(statement: str) -> Callable[[], None]:
        def run() -> None:
            raw.execute(statement).fetchall()

        return run

    headers = {"Authorization": f"Bearer {token}"}
    with uvicorn({**env, "DATABASE_URL": url, "REDIS_URL": os.environ["REDIS_URL"]}) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def get(path: str) -> dict[str, object]:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")
            return json.loads(body)

        def http_get(path: str) -> Callable[[], object]:
            return lambda: get(path)

        first = f"/api/v1/matching/search?{urlencode(TYPICAL)}"
        page, number = get(first), 1
        while number < 50 and page["next"]:
            split = urlsplit(page["next"])
            last_path = f"{split.path}?{split.query}"
            page, number = get(last_path), number + 1
        page_50 = last_path if number > 1 else first

        cases: dict[str, Callable[[], object]] = {
            "floor  framework (GET auth/me)": http_get("/api/v1/auth/me"),
            "floor  search SQL (psycopg)": sql(search_sql),
            "search page 1": http_get(first),
            f"search page {number}": http_get(page_50),
        }
        timings = interleaved(cases, args.rounds, SEED)

    p50 = {name: statistics.median(values) for name, values in timings.items()}
    print(f"machine: {machine()}; PostgreSQL + Redis; uvicorn, 1 worker; one client")
    print(f"members: {args.profiles:,}; {args.rounds} rounds; typical search: {TYPICAL}")
    print(f"  the typical search has at least {number * 20} matches (page {number} reached)")
    for name in cases:
        print(f"{name:34s} p50 {p50[name]:7.2f} ms   p95 {percentile(timings[name], 95):7.2f} ms")
    framework, search_floor, page_1, page_n = (p50[name] for name in cases)
    checks = [
        ("search p50 / (framework + SQL)", page_1 / (framework + search_floor), 1.5),
        (f"page {number} p50 / page 1 p50", page_n / page_1, 1.2),
    ]
    failed = False
    for label, ratio, target in checks:
        verdict = "meets" if ratio <= target else "MISSES"
        failed |= ratio > target
        print(f"ratio  {label:36s} = {ratio:5.2f}  ({verdict} the target <= {target})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
