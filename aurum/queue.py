"""Handing work to the background queue (Celery): only after the caller's transaction commits.

A task is named by its dotted path, imported when it is published, so a service can queue its
own app's task without importing the task module that imports it back. What must not be lost
is a row the caller wrote in the same transaction (a delivery, say): if the broker cannot take
the task, that is logged and the row's sweeper queues it again; the caller's request never
fails for it. Without a broker (the embedded default) Celery runs the task in-process.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger("aurum.queue")


def publish(task_path: str, *args: Any, queue: str | None = None) -> bool:
    """Hand the task to the broker now; False (logged) when the broker would not take it."""
    task = import_string(task_path)
    try:
        task.apply_async(args=args, queue=queue)
    except Exception:  # the broker is down: the row stays, the sweeper comes back for it
        logger.exception("could not queue %s", task_path)
        return False
    return True


def after_commit(task_path: str, *args: Any, queue: str | None = None) -> None:
    transaction.on_commit(lambda: publish(task_path, *args, queue=queue))
