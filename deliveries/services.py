"""Deliveries: queue one in the caller's transaction, send it at most once, retry, sweep.

`queue()` writes the row; the task (`deliveries.tasks.send`) is handed to the broker only after
the transaction commits. Whatever goes wrong afterwards — the broker was down, the worker was
killed mid-send, the provider failed — the row is still there, and the sweeper queues it again
once `next_attempt_at` passes. A sender claims the row with one conditional UPDATE before
calling the provider, so two tasks for the same row never both send it.
"""

from __future__ import annotations

import base64
import json
import logging
import random
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from aurum import metrics
from aurum.errors import Conflict
from aurum.queue import hand_over
from deliveries import backends
from deliveries.models import Channel, Delivery, Status
from deliveries.signals import address_unreachable

logger = logging.getLogger("aurum.deliveries")

ERROR_LENGTH = 500


@lru_cache(maxsize=4)
def _box(secret: str) -> Fernet:
    key = salted_hmac("aurum.deliveries", "payload key", secret=secret, algorithm="sha256")
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def _seal(payload: dict[str, Any]) -> str:
    return _box(settings.SECRET_KEY).encrypt(json.dumps(payload).encode()).decode()


def _open(sealed: str) -> dict[str, Any]:
    return json.loads(_box(settings.SECRET_KEY).decrypt(sealed.encode()))


def queue(
    *,
    channel: Channel | str,
    to: str,
    template: str,
    label: str,
    key: str,
    user: Any = None,
    subject: str = "",
    text: str = "",
    html: str = "",
    data: dict[str, str] | None = None,
    urgent: bool = False,
    expires_at: datetime | None = None,
    fresh: bool = False,
) -> Delivery | None:
    """Write a delivery in the caller's transaction and send it after commit.

    Idempotent by `key`: queueing the same key again returns None and sends nothing more.
    `fresh`: the key names a row the caller has just created (a code), so it cannot have been
    queued before; the savepoint that would catch the duplicate is spared."""
    payload = {"subject": subject, "text": text, "html": html, "data": data or {}}
    now = timezone.now()
    try:
        with transaction.atomic() if not fresh else nullcontext():
            delivery = Delivery.objects.create(
                channel=channel,
                address=to,
                template=template,
                label=label[:140],
                user=user,
                payload=_seal(payload),
                idempotency_key=key,
                urgent=urgent,
                expires_at=expires_at,
                next_attempt_at=now + timedelta(seconds=settings.DELIVERY_SWEEP_AFTER_SECONDS),
            )
    except IntegrityError:
        return None  # this key was queued before
    _enqueue(delivery, now=Status.PENDING)
    return delivery


def _enqueue(delivery: Delivery, *, now: str = "") -> None:
    """Queue its task once the transaction commits, counting it then as reaching status
    `now` (a new or retried row: pending) when given."""

    def committed() -> None:
        if now:
            metrics.DELIVERIES.labels(delivery.channel, now).inc()
        hand_over("deliveries.tasks.send", str(delivery.pk), queue=queue_name)

    queue_name = "codes" if delivery.urgent else "deliveries"
    transaction.on_commit(committed)


@dataclass(frozen=True)
class Outcome:
    status: str  # a Status value, or "skipped" when another sender holds or finished the row
    retry_in: float | None = None  # seconds, when the send failed and will be tried again


def backoff(attempts: int) -> float:
    """Seconds before try `attempts + 1`: exponential, capped, with full jitter (so a provider
    coming back is not met by every retry at the same moment)."""
    ceiling = min(
        settings.DELIVERY_BACKOFF_MAX_SECONDS,
        settings.DELIVERY_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1),
    )
    return random.uniform(ceiling / 2, ceiling)


def send(*, delivery_id: str) -> Outcome:
    """Send one delivery unless it is sent, given up, or held by another sender right now."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    claimed = Delivery.objects.filter(
        free, pk=delivery_id, status__in=[Status.PENDING, Status.FAILED]
    ).update(
        claimed_until=lease,
        attempts=F("attempts") + 1,
        next_attempt_at=lease + timedelta(seconds=settings.DELIVERY_SWEEP_AFTER_SECONDS),
    )
    if not claimed:
        return Outcome("skipped")
    delivery = Delivery.objects.get(pk=delivery_id)
    ours = Delivery.objects.filter(pk=delivery_id, claimed_until=lease)
    if delivery.expires_at is not None and delivery.expires_at <= now:
        ours.update(
            status=Status.GAVE_UP,
            claimed_until=None,
            payload="",
            last_error="expired before it could be sent",
        )
        return _counted(delivery, Outcome(Status.GAVE_UP))
    try:
        content = _open(delivery.payload)
    except InvalidToken:  # sealed under another SECRET_KEY: no try will ever read it
        ours.update(
            status=Status.GAVE_UP,
            claimed_until=None,
            last_error="its message cannot be read (sealed under another SECRET_KEY)",
        )
        return _counted(delivery, Outcome(Status.GAVE_UP))
    message = backends.Message(
        key=delivery.idempotency_key,
        template=delivery.template,
        to=delivery.address,
        subject=content["subject"],
        text=content["text"],
        html=content["html"],
        data=content["data"],
    )
    try:
        provider_id = backends.backend_for(delivery.channel).send(message)
    except backends.Rejected as exc:
        ours.update(
            status=Status.GAVE_UP, claimed_until=None, last_error=_describe(exc)[:ERROR_LENGTH]
        )
        logger.warning("%s delivery %s refused: %s", delivery.channel, delivery.pk, exc)
        if exc.unreachable:
            address_unreachable.send(
                sender=Delivery,
                channel=delivery.channel,
                address=delivery.address,
                user_id=delivery.user_id,
            )
        return _counted(delivery, Outcome(Status.GAVE_UP))
    except Exception as exc:  # a provider's failure is the row's to record, never the caller's
        error = _describe(exc)[:ERROR_LENGTH]
        if delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            ours.update(status=Status.GAVE_UP, claimed_until=None, last_error=error)
            logger.error("%s delivery %s gave up: %s", delivery.channel, delivery.pk, error)
            return _counted(delivery, Outcome(Status.GAVE_UP))
        wait = backoff(delivery.attempts)
        ours.update(
            status=Status.FAILED,
            claimed_until=None,
            last_error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
        )
        logger.warning(
            "%s delivery %s failed, retry in %.0f s", delivery.channel, delivery.pk, wait
        )
        return _counted(delivery, Outcome(Status.FAILED, retry_in=wait))
    ours.update(
        status=Status.SENT,
        claimed_until=None,
        payload="",
        last_error="",
        provider_id=(provider_id or "")[:200],
        sent_at=timezone.now(),
    )
    return _counted(delivery, Outcome(Status.SENT))


def _counted(delivery: Delivery, outcome: Outcome) -> Outcome:
    """The row has just reached `outcome.status` (each UPDATE above commits on its own)."""
    metrics.DELIVERIES.labels(delivery.channel, outcome.status).inc()
    return outcome


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def sweep(*, limit: int = 500) -> int:
    """Queue again what is due and not held: rows lost between commit and broker, rows of a
    killed sender (its lease ran out), failed rows whose retry never came. Returns how many."""
    now = timezone.now()
    due = list(
        Delivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status__in=[Status.PENDING, Status.FAILED],
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", "urgent", "created_at")[:limit]
    )
    if not due:
        return 0
    # The next look at a row waits as long as the row has waited (at least SWEEP_AFTER): a
    # row lost is sent again at once, one merely behind a long queue is not queued over and
    # over (its copies would only lengthen the queue they wait in).
    floor = timedelta(seconds=settings.DELIVERY_SWEEP_AFTER_SECONDS)
    swept = [
        Delivery(pk=pk, next_attempt_at=now + max(floor, now - created)) for pk, _, created in due
    ]
    Delivery.objects.bulk_update(swept, ["next_attempt_at"])
    for pk, urgent, _ in due:
        _enqueue(Delivery(pk=pk, urgent=urgent))
    logger.info("swept %d deliveries back onto the queue", len(due))
    return len(due)


def retry(*, delivery: Delivery) -> Delivery:
    """Staff: send a failed or given-up delivery again (a provider outage is over)."""
    if delivery.status not in (Status.FAILED, Status.GAVE_UP):
        raise Conflict("Only a failed delivery can be retried.", "not_failed")
    if not delivery.payload:
        raise Conflict("Its message is gone (expired before it was sent).", "message_gone")
    if delivery.expires_at is not None and delivery.expires_at <= timezone.now():
        raise Conflict("What it carried has expired; the member can ask again.", "expired")
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.PENDING, attempts=0, claimed_until=None, next_attempt_at=timezone.now()
    )
    delivery.refresh_from_db()
    _enqueue(delivery, now=Status.PENDING)
    return delivery


def forget(*, user: Any) -> int:
    """A closed account's deliveries go with it (addresses and texts are personal data)."""
    return Delivery.objects.filter(user=user).delete()[0]


def purge_sent(*, older_than_days: int) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return Delivery.objects.filter(
        status__in=[Status.SENT, Status.GAVE_UP], created_at__lt=cutoff
    ).delete()[0]
