"""Rate limits on the shared cache, by name from settings.AURUM_RATE_LIMITS.

`enforce` counts every request; `check` + `hit` count only failures (a login that succeeds
should not use up the member's tries).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from aurum.errors import RateLimited
from aurum.net import client_ip

logger = logging.getLogger("aurum.ratelimit")


def _usage(request: HttpRequest, name: str, value: str | None, increment: bool) -> dict | None:
    key = value if value is not None else client_ip(request)
    return get_usage(
        request,
        group=f"aurum.{name}",
        key=lambda _group, _request: key,
        rate=settings.AURUM_RATE_LIMITS[name],
        increment=increment,
    )


def enforce(request: HttpRequest, name: str, value: str | None = None) -> None:
    """Count this request against limit `name` for `value` (the client's address when None);
    raise RateLimited (429 with Retry-After) once the count passes the limit."""
    usage = _usage(request, name, value, increment=True)
    if usage is not None and usage["should_limit"]:
        raise RateLimited(retry_after=usage["time_left"])


def check(request: HttpRequest, name: str, value: str | None = None) -> None:
    """Raise RateLimited when earlier `hit`s have used up limit `name`; counts nothing."""
    usage = _usage(request, name, value, increment=False)
    if usage is not None and (usage["count"] >= usage["limit"] or usage["limit"] == 0):
        raise RateLimited(retry_after=usage["time_left"])


def hit(request: HttpRequest, name: str, value: str | None = None) -> None:
    _usage(request, name, value, increment=True)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    amount = period[:-1] or "1"
    return int(count), int(amount) * _UNITS[period[-1]]


def take_many(name: str, counts: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Use up `counts[value]` of limit `name` for each value at once (a batch of actions, in
    one cache round trip on Redis): for each value, how many are allowed and the seconds
    until its window resets."""
    if not settings.RATELIMIT_ENABLE or not counts:
        return {value: (count, 0) for value, count in counts.items()}
    limit, period = _parse(settings.AURUM_RATE_LIMITS[name])
    now = int(time.time())
    window = now - now % period
    keys = {value: f"aurum.rl.{name}.{value}.{window}" for value in counts}
    client = _redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for value, key in keys.items():
            pipe.incrby(key, counts[value])
            pipe.expire(key, period + 1, nx=True)
        try:
            used = dict(zip(keys, pipe.execute()[::2], strict=True))
        except RedisError:  # Redis away: let the actions through rather than refuse them all
            logger.warning("rate limit %s not counted: Redis is unavailable", name)
            return {value: (count, 0) for value, count in counts.items()}
    else:
        used = {}
        for value, key in keys.items():
            cache.add(key, 0, period + 1)
            used[value] = cache.incr(key, counts[value])
    reset = window + period - now
    return {
        value: (max(0, min(count, limit - (used[value] - count))), reset)
        for value, count in counts.items()
    }


def take(name: str, value: str) -> None:
    """Count one action against limit `name` for `value` where there is no request (a socket
    frame, a service); raise RateLimited once the count passes the limit."""
    granted, retry_after = take_many(name, {value: 1})[value]
    if not granted:
        raise RateLimited(retry_after=retry_after)


def _redis_client() -> Any:
    """The cache's Redis connection (django-redis), or None for another cache."""
    get_client = getattr(cache, "client", None) and getattr(cache.client, "get_client", None)
    return get_client(write=True) if get_client else None
