"""Chat's scheduled work: calls left ringing are ended by the schedule, never by a read."""

from __future__ import annotations

from celery import shared_task

from aurum.tasks import RETRIED
from chat import services


@shared_task(name="chat.ring_out", **RETRIED)
def ring_out() -> int:
    """Calls ringing past CHAT_CALL_RING_SECONDS become missed. Each call's own timer on its
    server usually ends it first; this catches those whose server stopped."""
    return services.calls_expire_due()
