"""The queue benchmark's own task (bench/celery_queue.py): a worker started with
`celery -A aurum worker --include=bench.queue_tasks` runs it. It notes when it started and
pushes that to a results list, nothing else, so what it measures is the queue itself."""

from __future__ import annotations

import time
from typing import Any

from aurum.celery import app

_results: dict[str, Any] = {}


def _client(url: str) -> Any:
    # One connection per process (a prefork child makes its own after the fork).
    import redis

    if url not in _results:
        _results[url] = redis.Redis.from_url(url)
    return _results[url]


@app.task(name="bench.stamp", ignore_result=True, acks_late=True)
def stamp(n: int, sent: float, results_url: str) -> None:
    # CLOCK_MONOTONIC is one clock for every process on the machine (Linux).
    started = time.monotonic()
    _client(results_url).rpush("bench:stamps", f"{n} {sent!r} {started!r}")
