"""Matching's scheduled work: the digests."""

from __future__ import annotations

from celery import shared_task

from aurum.tasks import RETRIED
from matching import digests


@shared_task(name="matching.digests", **RETRIED)
def due() -> int:
    return digests.due()


@shared_task(name="matching.digest", **RETRIED)
def digest(user_id: str, kind: str, frequency: str, period: str) -> str:
    return digests.send(user_id=user_id, kind=kind, frequency=frequency, period=period)


@shared_task(name="matching.purge_digests", **RETRIED)
def purge_digests() -> int:
    return digests.purge()
