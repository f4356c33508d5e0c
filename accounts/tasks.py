"""Accounts' scheduled housekeeping (the beat schedule is in settings)."""

from __future__ import annotations

from celery import shared_task

from accounts import services
from aurum.tasks import RETRIED


@shared_task(name="accounts.purge_codes", **RETRIED)
def purge_codes() -> int:
    return services.codes_purge()


@shared_task(name="accounts.purge_tokens", **RETRIED)
def purge_tokens() -> int:
    return services.tokens_purge()
