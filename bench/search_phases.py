"""Where a search page's time goes, in-process, on bench/search.py's members.

    .venv/bin/python bench/search_phases.py [--rounds 200]

Runs the typical search of bench/search.py (page 1) the way the view does, phase by phase, and
prints the median of each: validating the query parameters, finding the page (Python, and the
time inside the database driver), and building the cards (Python and database). Needs the
members bench/search.py seeded (the `aurum_bench_feed` database).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from common import machine, setup_django
from search import TYPICAL, prepare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/aurum_bench_feed")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    setup_django({"AURUM_ENV": "dev", "DEBUG": "0", "LOG_LEVEL": "WARNING"})

    from django.db import connection
    from django.http import QueryDict

    from matching import search
    from matching.serializers import SearchQuery, query_data
    from profiles.serializers import cards_from_values

    groom, _token = prepare(args.profiles)
    params = QueryDict(urlencode(TYPICAL))
    in_db = [0.0]

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            in_db[0] += time.perf_counter() - start

    phases: dict[str, list[float]] = {
        name: []
        for name in (
            "validate",
            "page: Python",
            "page: database",
            "cards: Python",
            "cards: database",
            "total",
        )
    }
    with connection.execute_wrapper(timed):
        for round_ in range(args.rounds + 5):
            t0 = time.perf_counter()
            query = SearchQuery(data=query_data(params, SearchQuery.LIST_FIELDS))
            query.is_valid(raise_exception=True)
            t1 = time.perf_counter()
            in_db[0] = 0.0
            page = search.search_page(viewer=groom, filters=query.validated_data)
            t2, page_db = time.perf_counter(), in_db[0]
            in_db[0] = 0.0
            cards_from_values(groom, page.rows)
            t3, cards_db = time.perf_counter(), in_db[0]
            if round_ < 5:
                continue  # warm-up
            for name, seconds in (
                ("validate", t1 - t0),
                ("page: Python", t2 - t1 - page_db),
                ("page: database", page_db),
                ("cards: Python", t3 - t2 - cards_db),
                ("cards: database", cards_db),
                ("total", t3 - t0),
            ):
                phases[name].append(seconds * 1000)
    print(f"machine: {machine()}; {args.rounds} rounds; typical search, page 1, in-process")
    for name, values in phases.items():
        print(f"  {name:16s} p50 {statistics.median(values):6.2f} ms")


if __name__ == "__main__":
    main()
