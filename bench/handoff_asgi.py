"""A proposal measured by bench/otp_send.py, not shipped: the app as aurum.asgi serves it,
except that what `aurum.queue.after_commit` publishes after commit (or, without a broker, the
task it runs in-process) is handed to one background thread of the process, so a request
only writes its rows. The row is already durable; a hand-off lost with the process is what
the sweeper finds, as when the broker refuses a publish.

    uvicorn bench.handoff_asgi:application   (from the repository's root)
"""

from __future__ import annotations

import threading
from queue import SimpleQueue
from typing import Any

from aurum import queue as aurum_queue
from aurum.asgi import application

_publish = aurum_queue.publish
_work: SimpleQueue[tuple[str, tuple[Any, ...], str | None]] = SimpleQueue()


def _run() -> None:
    from django.db import close_old_connections

    while True:
        task_path, args, queue = _work.get()
        try:
            _publish(task_path, *args, queue=queue)
        finally:
            close_old_connections()


def handoff(task_path: str, *args: Any, queue: str | None = None) -> bool:
    _work.put((task_path, args, queue))
    return True


threading.Thread(target=_run, name="aurum-handoff", daemon=True).start()
# after_commit looks `publish` up in its module when the transaction commits.
aurum_queue.publish = handoff

__all__ = ["application"]
