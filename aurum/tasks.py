"""What every scheduled task shares (kernel: imports no app). A task that fails — the
database away for a moment, storage refusing — is tried again with exponential backoff and
jitter, a bounded number of times; the next period's run comes anyway. Tasks are idempotent:
each calls a service whose rows say what is already done."""

from __future__ import annotations

from typing import Any

RETRIED: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": 5,  # seconds before the first retry, doubling
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}
