"""Logs: one JSON object a line (LOG_FORMAT=json, the default with AURUM_ENV=prod) or plain
text, each line with the id of the request it belongs to, and no personal data.

Every HTTP request gets an id (the caller's `X-Request-ID` when it is a sane one, else a new
one), sent back in `X-Request-ID` and carried by every line logged while it is served, and
one access line when it ends (method, the URL pattern without its values or the query,
status, time, member id); its time also goes to the request histogram (aurum.metrics).
Whatever a line says, the formatter takes out what must never be in a log: tokens, email
addresses, phone numbers and JWTs.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from aurum import metrics
from aurum.logfilters import redact as redact_urls

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# E.164 numbers, and Indian mobile numbers written without the country code.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{10,15}|[6-9]\d{9})(?!\w)")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")
_ACCESS = logging.getLogger("aurum.access")


def scrub(text: str) -> str:
    """`text` without tokens, JWTs, email addresses or phone numbers."""
    text = redact_urls(text)
    text = _JWT.sub("[jwt]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# Attributes every LogRecord has; anything else on a record came in `extra=` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        return scrub(super().format(record))


def _incoming_id(request: HttpRequest) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


class RequestLogMiddleware:
    """First in the chain: the request's id, and its access line."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        token, rid, started = self._start(request)
        try:
            response = self.get_response(request)
            self._done(request, response, rid, started)
            return response
        finally:
            request_id.reset(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        token, rid, started = self._start(request)
        try:
            get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
            response = await get_response(request)
            self._done(request, response, rid, started)
            return response
        finally:
            request_id.reset(token)

    def _start(self, request: HttpRequest) -> tuple[Any, str, float]:
        rid = _incoming_id(request)
        request.request_id = rid  # type: ignore[attr-defined]
        return request_id.set(rid), rid, time.perf_counter()

    def _done(self, request: HttpRequest, response: HttpResponse, rid: str, started: float) -> None:
        response["X-Request-ID"] = rid
        seconds = time.perf_counter() - started
        metrics.observe_request(request, response.status_code, seconds)
        user = getattr(request, "user", None)
        # The URL pattern, parameters named but not filled in: a push token or an id in a
        # path (DELETE devices/<token>) stays out of the log.
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", "") or ""
        # A regex route (the /api/ catch-all's "^api/") says nothing: the path, scrubbed.
        path = f"/{route}" if route and not route.startswith("^") else request.path
        _ACCESS.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user_id": str(user.pk) if getattr(user, "is_authenticated", False) else None,
            },
        )
