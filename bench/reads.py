"""Profile detail and the dashboard at a million members, against their floors, in one run.

    .venv/bin/python bench/reads.py [--rounds 300]

Uses bench/feed.py's database (`aurum_bench_feed`, a million members with realistic
preferences; run bench/feed.py first, or set DATABASE_URL). REDIS_URL defaults to Redis
database 14. The app runs under uvicorn (one worker); one client asks, one request at a time,
the cases interleaved in a new order every round:
  floor  framework: GET auth/me (JWT, one query, JSON)
  GET profiles/{id}: a bride opening a groom's profile (an accepted interest between them,
      so contact details and photos are decided too)
  GET dashboard: the bride's own dashboard (her feed page cached, as it is after a visit)
  floor  profile data: the same profile's row, user and sections read with one `.values()`
      query and `json.dumps`, in this process (added to the framework floor)
Targets: detail p50 <= 2 x (framework + profile data); dashboard p50 <= 3 x framework.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

from common import interleaved, machine, percentile, postgres_setup, uvicorn

SEED = 42


def prepare() -> tuple[Any, Any]:
    """A seeded bride and a groom she may see, with an accepted interest between them."""
    from matching import services as matching
    from matching.models import Interest
    from profiles.models import Profile

    seeded = Profile.objects.filter(user__email__endswith=f".s{SEED}@demo.aurum.test")
    bride = seeded.filter(gender="female").order_by("user__email").select_related("user").first()
    if bride is None:
        sys.exit("no seeded members: run bench/feed.py first (it seeds the million)")
    groom = (
        seeded.filter(gender="male", religion=bride.religion)
        .order_by("user__email")
        .select_related("user")
        .first()
    )
    assert groom is not None
    if not Interest.objects.filter(sender=groom.user, receiver=bride.user).exists():
        interest = matching.interest_send(sender=groom.user, receiver=bride.user)
        matching.interest_accept(user=bride.user, interest=interest)
    return bride.user, groom.user


def profile_data(owner_id: Any) -> Callable[[], None]:
    """The floor's read: what the detail shows, as one `.values()` query and `json.dumps`."""
    from profiles.models import Profile

    columns = [
        f.name for f in Profile._meta.concrete_fields if f.name not in {"user", "reviewed_by"}
    ]
    sections = [
        f"{section}__{f.name}"
        for section in ("education", "career", "family", "preferences")
        for f in Profile._meta.get_field(section).related_model._meta.concrete_fields
        if f.name != "profile"
    ]
    fields = ["user_id", *columns, "user__first_name", "user__profile_code", *sections]

    def read() -> None:
        row = Profile.objects.filter(pk=owner_id).values(*fields).first()
        json.dumps(row, default=str)

    return read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    url, env = postgres_setup("reads.py", "aurum_bench_feed")

    from accounts.services import tokens_issue

    bride, groom = prepare()
    token = tokens_issue(user=bride).access_token
    data = profile_data(groom.pk)
    timings: dict[str, list[float]] = {}
    with uvicorn({**env, "DATABASE_URL": url, "REDIS_URL": os.environ["REDIS_URL"]}) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def get(path: str) -> Callable[[], None]:
            def run() -> None:
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")

            return run

        cases = {
            "floor  framework (GET auth/me)": get("/api/v1/auth/me"),
            "floor  profile data (.values + json)": data,
            "GET profiles/{id}": get(f"/api/v1/profiles/{groom.pk}"),
            "GET dashboard": get("/api/v1/dashboard"),
        }
        timings = interleaved(cases, args.rounds, SEED)  # warm-up caches the feed page

    p50 = {name: statistics.median(values) for name, values in timings.items()}
    print(f"machine: {machine()}; PostgreSQL + Redis; uvicorn, 1 worker; one client")
    print(f"{args.rounds} rounds")
    for name, values in timings.items():
        print(f"{name:38s} p50 {p50[name]:7.2f} ms   p95 {percentile(values, 95):7.2f} ms")
    framework = p50["floor  framework (GET auth/me)"]
    floor = framework + p50["floor  profile data (.values + json)"]
    checks = [
        ("detail / (framework + profile data)", p50["GET profiles/{id}"] / floor, 2.0),
        ("dashboard / framework", p50["GET dashboard"] / framework, 3.0),
    ]
    failed = False
    for label, ratio, target in checks:
        failed |= ratio > target
        verdict = "meets" if ratio <= target else "MISSES"
        print(f"ratio  {label:38s} = {ratio:5.2f}  ({verdict} the target <= {target})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
