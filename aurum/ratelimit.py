"""Rate limits on the shared cache, by name from settings.AURUM_RATE_LIMITS.

`enforce` counts every request; `check` + `hit` count only failures (a login that succeeds
should not use up the member's tries).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from aurum.errors import RateLimited
from aurum.net import client_ip


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
