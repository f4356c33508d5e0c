"""Matching's scheduled work: the digests."""

from __future__ import annotations

from celery import shared_task

from matching import digests


@shared_task(name="matching.digests", ignore_result=True)
def due() -> int:
    return digests.due()


@shared_task(name="matching.digest", acks_late=True, ignore_result=True)
def digest(user_id: str, kind: str, frequency: str, period: str) -> str:
    return digests.send(user_id=user_id, kind=kind, frequency=frequency, period=period)
