"""Profiles' scheduled work: members long inactive are warned, then hidden."""

from __future__ import annotations

from celery import shared_task

from aurum.tasks import RETRIED
from profiles import services


@shared_task(name="profiles.inactivity", **RETRIED)
def inactivity() -> dict[str, int]:
    """Hourly, in batches: warn who is a week from being hidden, hide who was warned."""
    return {"warned": services.inactive_warn(), "hidden": services.inactive_hide()}
