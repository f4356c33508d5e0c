"""The deliveries' tasks: each calls a service; the row holds the state, so a task may run
twice (a redelivered message, the sweeper) and still send once."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from aurum.tasks import RETRIED
from deliveries import services


@shared_task(name="deliveries.send", acks_late=True, ignore_result=True)
def send(delivery_id: str) -> str:
    """Send one delivery. A failure is recorded on the row with its backoff (exponential,
    jittered, bounded by DELIVERY_MAX_ATTEMPTS), and the sweeper queues it again when due:
    the row is the one retry mechanism, so no chain of retries can multiply."""
    return services.send(delivery_id=delivery_id).status


@shared_task(name="deliveries.sweep", **RETRIED)
def sweep() -> int:
    return services.sweep()


@shared_task(name="deliveries.purge", **RETRIED)
def purge() -> int:
    return services.purge_sent(older_than_days=settings.DELIVERY_KEEP_DAYS)
