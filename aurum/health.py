"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger("aurum.health")
CHECK_TIMEOUT_SECONDS = 3


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("value written was not read back")
    cache.delete(key)


async def _round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ready.check"})
    message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
    if message.get("type") != "ready.check":
        raise RuntimeError("unexpected message")


def _channel_layer() -> None:
    async_to_sync(asyncio.wait_for)(_round_trip(), CHECK_TIMEOUT_SECONDS)


def _storage() -> None:
    from django.core.files.storage import storages

    storage = storages["default"]
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:  # S3: the bucket must exist, not merely answer "no such key"
        storage.connection.meta.client.head_bucket(Bucket=bucket.name)
    else:
        default_storage.exists("ready-probe")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "cache": _cache,
    "channel_layer": _channel_layer,
    "storage": _storage,
}


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports every failure, whatever its kind
            logger.warning("readiness: %s is down: %s", name, exc)
            results[name] = "down"
    down = [name for name, state in results.items() if state != "ok"]
    if down:
        return JsonResponse(
            {
                "status": "unavailable",
                "detail": f"Not ready: {', '.join(down)} down.",
                "code": "not_ready",
                "checks": results,
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": results})
