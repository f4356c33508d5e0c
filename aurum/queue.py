"""Handing work to the background queue (Celery): only after the caller's transaction commits,
and, inside an HTTP request, only once its response has gone out.

A task is named by its dotted path, imported when it is published, so a service can queue its
own app's task without importing the task module that imports it back. What must not be lost
is a row the caller wrote in the same transaction (a delivery, say): if the broker cannot take
the task, or the process dies before it is handed over, that row's sweeper queues it again;
the caller's request never fails for it. Without a broker (the embedded default) Celery runs
the task in-process.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from celery import current_app
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger("aurum.queue")

Pending = list[tuple[str, tuple[Any, ...], str | None]]
# Set by `PublishAfterResponse` for the length of one HTTP request: what it queued waits here.
_pending: ContextVar[Pending | None] = ContextVar("aurum_queue_pending", default=None)


# After the broker refused a task, publishing is skipped for this long: a request (or a chat
# socket's thread) does not wait on a broker known to be down for every task it queues.
BROKER_DOWN_SECONDS = 5.0
_broker_down_until = 0.0


def publish(task_path: str, *args: Any, queue: str | None = None) -> bool:
    """Hand the task to the broker now; False (logged) when the broker would not take it, or
    refused one less than BROKER_DOWN_SECONDS ago (the row stays; the sweeper comes back)."""
    global _broker_down_until
    task = import_string(task_path)
    if time.monotonic() < _broker_down_until:
        logger.warning("broker down: %s left to the sweeper", task_path)
        return False
    try:
        task.apply_async(args=args, queue=queue)
    except Exception:  # the broker is down: the row stays, the sweeper comes back for it
        _broker_down_until = time.monotonic() + BROKER_DOWN_SECONDS
        logger.exception("could not queue %s", task_path)
        return False
    return True


def hand_over(task_path: str, *args: Any, queue: str | None = None) -> None:
    """Publish now, or, inside an HTTP request, once its response has gone out."""
    pending = _pending.get()
    if pending is None:
        publish(task_path, *args, queue=queue)
    else:
        pending.append((task_path, args, queue))


def after_commit(task_path: str, *args: Any, queue: str | None = None) -> None:
    transaction.on_commit(lambda: hand_over(task_path, *args, queue=queue))


def _publish_all(pending: Pending) -> None:
    for task_path, args, queue in pending:
        publish(task_path, *args, queue=queue)


class PublishAfterResponse:
    """ASGI middleware for HTTP: tasks a request queued are published after its response
    has been sent, so the member waits for neither the broker nor (without one) the task
    itself. The rows they stand for were committed before the response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending: Pending = []
        token = _pending.set(pending)
        try:
            await self.app(scope, receive, send)
        finally:
            _pending.reset(token)
            if pending:
                # In-process tasks use the database: they run on Django's own sync thread.
                eager = bool(current_app.conf.task_always_eager)
                await sync_to_async(_publish_all, thread_sensitive=eager)(pending)
