"""Outside channels behind small interfaces: swap them by dotted path in settings.

NOTIFY_SMS_BACKEND and NOTIFY_PUSH_BACKEND; email goes through Django's EMAIL_BACKEND.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("aurum.notifications")


class SmsBackend(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


class PushBackend(Protocol):
    def send(self, *, tokens: list[str], title: str, body: str, data: dict[str, Any]) -> None: ...


class LogSmsBackend:
    def send(self, *, phone: str, text: str) -> None:
        logger.info("SMS to %s*** (%d characters)", phone[:5], len(text))


class LogPushBackend:
    def send(self, *, tokens: list[str], title: str, body: str, data: dict[str, Any]) -> None:
        logger.info("push to %d device(s): %s", len(tokens), title)


class FcmPushBackend:
    """The shape of Firebase Cloud Messaging's HTTP v1 API: one message per token.

    `transport(url, payload)` does the authenticated POST (an OAuth2 service-account session in
    production); it is injected so the message shape is testable without Google.
    """

    def __init__(self, project_id: str | None = None, transport: Any = None) -> None:
        self.project_id = project_id or getattr(settings, "FCM_PROJECT_ID", "")
        self.transport = transport

    def messages(
        self, *, tokens: list[str], title: str, body: str, data: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [
            {
                "message": {
                    "token": token,
                    "notification": {"title": title, "body": body},
                    "data": {k: str(v) for k, v in data.items()},
                }
            }
            for token in tokens
        ]

    def send(self, *, tokens: list[str], title: str, body: str, data: dict[str, Any]) -> None:
        if self.transport is None:
            raise RuntimeError("FcmPushBackend needs a transport (FCM credentials).")
        url = f"https://fcm.googleapis.com/v1/projects/{self.project_id}/messages:send"
        for message in self.messages(tokens=tokens, title=title, body=body, data=data):
            self.transport(url, message)


class MemoryBackend:
    """Keeps what was sent, for tests."""

    sent: list[dict[str, Any]] = []

    def send(self, **kwargs: Any) -> None:
        MemoryBackend.sent.append(kwargs)


@lru_cache(maxsize=8)
def _load(path: str) -> Any:
    return import_string(path)()


def sms_backend() -> SmsBackend:
    return _load(settings.NOTIFY_SMS_BACKEND)


def push_backend() -> PushBackend:
    return _load(settings.NOTIFY_PUSH_BACKEND)
