"""The deliveries' tasks: each calls a service; the row holds the state, so a task may run
twice (a redelivered message, the sweeper) and still send once."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from aurum.tasks import RETRIED
from deliveries import services


@shared_task(bind=True, name="deliveries.send", acks_late=True, ignore_result=True)
def send(self: Any, delivery_id: str) -> str:
    outcome = services.send(delivery_id=delivery_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        # Exponential backoff with jitter, from the row's own attempt count; past the bound
        # the service gives up. In-process (no broker) the sweeper comes back for it instead.
        raise self.retry(countdown=outcome.retry_in, max_retries=settings.DELIVERY_MAX_ATTEMPTS)
    return outcome.status


@shared_task(name="deliveries.sweep", **RETRIED)
def sweep() -> int:
    return services.sweep()


@shared_task(name="deliveries.purge", **RETRIED)
def purge() -> int:
    return services.purge_sent(older_than_days=settings.DELIVERY_KEEP_DAYS)
