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
from django.db.models import Case, DateTimeField, F, Q, Value, When
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
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return Outcome("skipped")  # erased with its account meanwhile
    ours = Delivery.objects.filter(pk=delivery_id, claimed_until=lease)

    def finish(status: str, **fields: Any) -> Outcome:
        if status == Status.GAVE_UP and delivery.expires_at is not None:
            fields["payload"] = ""  # a code given up is not kept, sealed or not
        if "last_error" in fields:
            fields["last_error"] = _scrub(fields["last_error"], delivery.address)
        if not ours.update(status=status, claimed_until=None, **fields):
            # Our lease ran out mid-send and another sender took the row: it decides.
            logger.error("delivery %s: lease lost while sending; not recorded", delivery.pk)
            return Outcome("skipped")
        return _counted(delivery, Outcome(status))

    if delivery.expires_at is not None and delivery.expires_at <= now:
        return finish(Status.GAVE_UP, last_error="expired before it could be sent")
    try:
        content = _open(delivery.payload)
    except InvalidToken:  # sealed under another SECRET_KEY: no try will ever read it
        return finish(
            Status.GAVE_UP,
            last_error="its message cannot be read (sealed under another SECRET_KEY)",
        )
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
        outcome = finish(Status.GAVE_UP, last_error=_describe(exc))
        logger.warning("%s delivery %s refused", delivery.channel, delivery.pk)
        if exc.unreachable and outcome.status == Status.GAVE_UP:
            address_unreachable.send(
                sender=Delivery,
                channel=delivery.channel,
                address=delivery.address,
                user_id=delivery.user_id,
            )
        return outcome
    except Exception as exc:  # a provider's failure is the row's to record, never the caller's
        error = _describe(exc)
        if delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            logger.error("%s delivery %s gave up", delivery.channel, delivery.pk)
            return finish(Status.GAVE_UP, last_error=error)
        wait = backoff(delivery.attempts)
        logger.warning(
            "%s delivery %s failed, retry in %.0f s", delivery.channel, delivery.pk, wait
        )
        # The sweeper sends it again once `next_attempt_at` passes: one retry mechanism.
        outcome = finish(
            Status.FAILED,
            last_error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
        )
        return Outcome(outcome.status, retry_in=wait if outcome.status == Status.FAILED else None)
    return finish(
        Status.SENT,
        payload="",
        last_error="",
        provider_id=(provider_id or "")[:200],
        sent_at=timezone.now(),
    )


def _scrub(error: str, address: str) -> str:
    """A provider's error text as kept and shown: without the address it names in full."""
    return error.replace(address, backends.masked(address))[:ERROR_LENGTH] if address else error


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
        .order_by("-urgent", "next_attempt_at")
        .values_list("pk", "urgent", "created_at")[:limit]
    )
    if not due:
        return 0
    # The next look at a row waits as long as the row has waited (at least SWEEP_AFTER): a
    # row lost is sent again at once, one merely behind a long queue is not queued over and
    # over (its copies would only lengthen the queue they wait in).
    floor = timedelta(seconds=settings.DELIVERY_SWEEP_AFTER_SECONDS)
    later = Case(
        *(When(pk=pk, then=Value(now + max(floor, now - created))) for pk, _, created in due),
        output_field=DateTimeField(),
    )
    # One statement, and only for rows still free: one a sender claimed meanwhile keeps the
    # `next_attempt_at` its lease set.
    Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk__in=[pk for pk, *_ in due]
    ).update(next_attempt_at=later)
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
    now = timezone.now()
    # Only a row no sender holds, still failed: a retry never races a send in flight.
    moved = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery.pk,
        status__in=[Status.FAILED, Status.GAVE_UP],
    ).update(status=Status.PENDING, attempts=0, claimed_until=None, next_attempt_at=now)
    if not moved:
        raise Conflict("It is being sent right now, or was meanwhile.", "in_flight")
    delivery.refresh_from_db()
    _enqueue(delivery, now=Status.PENDING)
    return delivery


def cancel(*, keys: list[str], why: str) -> int:
    """Give up deliveries not sent yet (a newer code replaced theirs; what they named is gone)."""
    if not keys:
        return 0
    return Delivery.objects.filter(
        idempotency_key__in=keys, status__in=[Status.PENDING, Status.FAILED]
    ).update(status=Status.GAVE_UP, payload="", last_error=why[:ERROR_LENGTH])


def cancel_prefixed(*, prefixes: list[str], why: str) -> int:
    """`cancel` by key prefix (`notification:<id>:` covers its email, SMS and pushes)."""
    if not prefixes:
        return 0
    match = Q()
    for prefix in prefixes:
        match |= Q(idempotency_key__startswith=prefix)
    return Delivery.objects.filter(match, status__in=[Status.PENDING, Status.FAILED]).update(
        status=Status.GAVE_UP, payload="", last_error=why[:ERROR_LENGTH]
    )


def forget(*, user: Any) -> int:
    """A closed account's deliveries go with it (addresses and texts are personal data)."""
    return Delivery.objects.filter(user=user).delete()[0]


def purge_sent(*, older_than_days: int) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return Delivery.objects.filter(
        status__in=[Status.SENT, Status.GAVE_UP], created_at__lt=cutoff
    ).delete()[0]
