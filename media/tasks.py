"""Media's scheduled work, on the `media` queue: files whose photo is gone leave storage."""

from __future__ import annotations

from celery import shared_task

from aurum.tasks import RETRIED
from media import services


@shared_task(name="media.sweep_orphans", **RETRIED)
def sweep_orphans() -> int:
    return services.orphans_sweep()
