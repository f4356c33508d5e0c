"""The Celery application: workers and beat run it (`celery -A aurum worker`, `celery -A aurum
beat`). Configured from Django's settings (the `CELERY_` names); tasks live in each app's
`tasks.py` and call that app's services.

Without a broker (the embedded default) tasks run in-process after commit, and a server's
lifespan starts `InProcessBeat`, which runs the same schedule in a thread of that process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from typing import Any

from celery import Celery, signals
from celery.schedules import maybe_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aurum.settings")

app = Celery("aurum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("aurum.queue")


# --- Task metrics (aurum.metrics), from Celery's signals, in whichever process runs the task ---
# aurum.metrics is imported on first use: this module is imported with the `aurum` package,
# before Django's settings (and the `.env` naming the metrics directory) are read.
_DUE_HEADER = "aurum_due_at"
# By task id and try: an in-process retry runs inside the try it replaces.
_started: dict[tuple[str, int], float] = {}


@signals.before_task_publish.connect
def _stamp_due_time(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """When the message may start: now, or its countdown's end (a retry's backoff is not
    time spent waiting in the queue)."""
    if headers is None:
        return
    due = time.time()
    eta = headers.get("eta")
    if eta:
        try:
            due = max(due, datetime.fromisoformat(eta).timestamp())
        except (TypeError, ValueError):
            pass
    headers[_DUE_HEADER] = due


@signals.task_prerun.connect
def _task_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    from aurum import metrics

    if task is None:
        return
    _started[(task_id, task.request.retries or 0)] = time.perf_counter()
    due = getattr(task.request, _DUE_HEADER, None)
    if isinstance(due, int | float):  # published through the broker (not run in-process)
        metrics.TASK_WAIT_SECONDS.labels(task.name).observe(max(0.0, time.time() - due))


@signals.task_postrun.connect
def _task_finished(task_id: str = "", task: Any = None, state: str = "", **_: Any) -> None:
    from aurum import metrics

    if task is None:
        return
    started = _started.pop((task_id, task.request.retries or 0), None)
    metrics.TASK_RUNS.labels(task.name, state or "UNKNOWN").inc()
    if started is not None:
        metrics.TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)


@signals.task_retry.connect
def _task_retried(sender: Any = None, **_: Any) -> None:
    from aurum import metrics

    metrics.TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()


@signals.task_failure.connect
def _task_failed(sender: Any = None, **_: Any) -> None:
    from aurum import metrics

    metrics.TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


class InProcessBeat:
    """The beat schedule, for a single process without a broker: each due entry's task runs
    here (eagerly), one at a time. Celery's own schedule objects decide what is due."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="aurum-beat", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        from django.db import close_old_connections

        app.autodiscover_tasks(force=True)
        entries = {
            name: (entry["task"], maybe_schedule(entry["schedule"], app=app))
            for name, entry in app.conf.beat_schedule.items()
        }
        last_run: dict[str, Any] = {}
        while not self._stop.is_set():
            wait = 30.0
            for name, (task, schedule) in entries.items():
                # The first run comes one period after start, as with celery beat.
                last_run.setdefault(name, app.now())
                due, next_in = schedule.is_due(last_run[name])
                if due:
                    last_run[name] = app.now()
                    try:
                        app.tasks[task].apply()
                    except Exception:  # one schedule failing must not stop the others
                        logger.exception("scheduled task %s failed", task)
                    finally:
                        close_old_connections()
                wait = min(wait, max(next_in, 0.5))
            self._stop.wait(wait)


def lifespan(beat: InProcessBeat | None = None) -> Any:
    """An ASGI lifespan app: starts `InProcessBeat` when tasks run in-process (no broker)."""
    beat = beat or InProcessBeat()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if app.conf.task_always_eager:
                    beat.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                beat.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application


__all__ = ["InProcessBeat", "app", "lifespan"]
