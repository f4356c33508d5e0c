"""Where one-time codes go. Swap the class with AURUM_CODE_SENDER (an SMS gateway, say)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("aurum.codes")


class CodeSender(Protocol):
    def send_sms(self, *, phone: str, text: str) -> None: ...

    def send_email(self, *, email: str, subject: str, text: str) -> None: ...


class LogSender:
    """Logs that a message went out, never its text: the code in it is a secret."""

    def send_sms(self, *, phone: str, text: str) -> None:
        logger.info("SMS to %s*** (%d characters)", phone[:5], len(text))

    def send_email(self, *, email: str, subject: str, text: str) -> None:
        send_mail(subject, text, None, [email])


class FileOutboxSender(LogSender):
    """Development sender: each SMS becomes a file under `var/outbox/sms/`.

    Codes stay out of the console and the logs even in development; a developer trying the
    flows by hand reads the newest file (email goes to `var/outbox/mail/` the same way).
    """

    def send_sms(self, *, phone: str, text: str) -> None:
        super().send_sms(phone=phone, text=text)
        folder = Path(settings.VAR_DIR) / "outbox" / "sms"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
        (folder / f"{stamp}-{phone.lstrip('+')}.txt").write_text(f"To: {phone}\n\n{text}\n")


class MemorySender(LogSender):
    """Keeps sent messages in memory, for tests."""

    outbox: list[dict[str, str]] = []

    def send_sms(self, *, phone: str, text: str) -> None:
        super().send_sms(phone=phone, text=text)
        MemorySender.outbox.append({"channel": "sms", "to": phone, "text": text})

    def send_email(self, *, email: str, subject: str, text: str) -> None:
        MemorySender.outbox.append({"channel": "email", "to": email, "text": text})


_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="aurum-send")


def _run(send: Callable[[], None]) -> None:
    try:
        send()
    except Exception:  # a lost SMS must not fail the request that asked for it
        logger.exception("sending a one-time code failed")


def dispatch(send: Callable[[], None]) -> None:
    """Send in the background (AURUM_CODE_SEND_ASYNC, on by default).

    A request for a code then takes the same time whether or not the account exists (an SMS
    gateway or SMTP round trip would otherwise tell), and a slow gateway holds no worker.
    """
    if settings.AURUM_CODE_SEND_ASYNC:
        _pool.submit(_run, send)
    else:
        _run(send)


@lru_cache(maxsize=4)
def _load(path: str) -> CodeSender:
    return import_string(path)()


def get_sender() -> CodeSender:
    return _load(settings.AURUM_CODE_SENDER)
