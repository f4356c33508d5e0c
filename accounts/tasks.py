"""Accounts' scheduled housekeeping (the beat schedule is in settings)."""

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.purge_codes", ignore_result=True)
def purge_codes() -> int:
    return services.codes_purge()


@shared_task(name="accounts.purge_tokens", ignore_result=True)
def purge_tokens() -> int:
    return services.tokens_purge()
