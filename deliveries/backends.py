"""The outside providers, behind one small interface: `send(message) -> provider id`.

Which class serves a channel is a dotted path in settings: SMS_BACKEND, PUSH_BACKEND, and
EMAIL_DELIVERY_BACKEND (which sends through Django's EMAIL_BACKEND: SMTP in production).
A backend raises `Rejected` when the provider will never take the message (give up, do not
retry); any other exception is a failure worth retrying.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from smtplib import SMTPRecipientsRefused, SMTPSenderRefused
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("aurum.deliveries")


@dataclass(frozen=True)
class Message:
    key: str  # the delivery's idempotency key: providers that take a reference get it
    template: str  # "code.login", "notification.interest_received": DLT templates hang on it
    to: str  # a phone number (E.164), an email address or a push token
    subject: str = ""
    text: str = ""
    html: str = ""
    data: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    """The provider refused this message for good. `unreachable` when the address itself is
    dead (an unregistered push token), so the apps above can forget it."""

    def __init__(self, detail: str, *, unreachable: bool = False) -> None:
        super().__init__(detail)
        self.unreachable = unreachable


class Backend(Protocol):
    def send(self, message: Message) -> str: ...


def masked(address: str) -> str:
    """An address as logs, errors and the admin show it: enough to tell which, not to use."""
    if "@" in address:
        name, _, domain = address.partition("@")
        return f"{name[:2]}…@{domain}"
    if address.startswith("+") and len(address) > 7:
        return f"{address[:3]}••••••{address[-2:]}"
    return f"…{address[-6:]}"


class LogSms:
    """Logs that an SMS went out, never its text: the code in it is a secret."""

    def send(self, message: Message) -> str:
        logger.info("SMS to %s (%d characters)", masked(message.to), len(message.text))
        return ""


class FileOutboxSms(LogSms):
    """Development: each SMS becomes a file under `var/outbox/sms/`, so codes stay out of the
    console and the logs; a developer trying the flows by hand reads the newest file (email
    goes to `var/outbox/mail/` the same way)."""

    def send(self, message: Message) -> str:
        super().send(message)
        folder = Path(settings.SMS_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{message.to.lstrip('+')}.txt"
        (folder / name).write_text(f"To: {message.to}\n\n{message.text}\n")
        return name


class LogPush:
    def send(self, message: Message) -> str:
        logger.info("push to device %s", masked(message.to))
        return ""


class Memory:
    """Keeps what was sent in this process, for tests: `Memory.outbox`."""

    outbox: ClassVar[list[dict[str, Any]]] = []
    channel: ClassVar[str] = ""

    def send(self, message: Message) -> str:
        Memory.outbox.append(
            {
                "channel": self.channel,
                "to": message.to,
                "text": message.text,
                "subject": message.subject,
                "html": bool(message.html),
                "data": message.data,
                "key": message.key,
            }
        )
        return f"memory-{len(Memory.outbox)}"


class MemorySms(Memory):
    channel = "sms"


class MemoryPush(Memory):
    channel = "push"


class MemoryEmail(Memory):
    channel = "email"


class DjangoEmail:
    """Email through Django's EMAIL_BACKEND (SMTP in production, files in development).

    The Message-ID is drawn from the idempotency key, so a resend after a crash carries the
    same id and mail systems that deduplicate by it show one message."""

    def send(self, message: Message) -> str:
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        message_id = f"<{digest}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            to=[message.to],
            headers={"Message-ID": message_id},
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            email.send()
        except SMTPRecipientsRefused as exc:
            raise Rejected("the mail server refused the recipient", unreachable=True) from exc
        except SMTPSenderRefused as exc:
            raise Rejected("the mail server refused our sender address") from exc
        return message_id


@lru_cache(maxsize=8)
def _load(path: str) -> Backend:
    return import_string(path)()


def backend_for(channel: str) -> Backend:
    path = {
        "sms": settings.SMS_BACKEND,
        "email": settings.EMAIL_DELIVERY_BACKEND,
        "push": settings.PUSH_BACKEND,
    }[channel]
    return _load(path)


# --- SMS in India: Exotel, with the DLT ids TRAI requires -------------------------------------


class ExotelSms:
    """SMS through Exotel's API (`POST /v1/Accounts/<sid>/Sms/send.json`, HTTP basic auth).

    India's DLT rules need every SMS to carry the sender id (header) registered on DLT, the
    principal entity id, and the id of the approved content template it was written from:
    SMS_SENDER_ID, SMS_DLT_ENTITY_ID, and SMS_DLT_TEMPLATES (JSON: our template name, or its
    first part, to the DLT template id, e.g. {"code.login": "1107…", "notification": "1107…"}).
    A number the gateway refuses, or a template with no DLT id, gives up; an outage, a
    throttle or bad credentials are retried (an operator may fix them meanwhile)."""

    def __init__(self) -> None:
        import json

        import requests

        self.url = (
            f"{settings.SMS_EXOTEL_URL.rstrip('/')}/v1/Accounts/{settings.SMS_EXOTEL_SID}"
            "/Sms/send.json"
        )
        self.session = requests.Session()
        self.session.auth = (settings.SMS_EXOTEL_API_KEY, settings.SMS_EXOTEL_API_TOKEN)
        self.templates: dict[str, str] = json.loads(settings.SMS_DLT_TEMPLATES or "{}")

    def dlt_template(self, template: str) -> str:
        found = self.templates.get(template) or self.templates.get(template.split(".", 1)[0])
        if not found:
            raise Rejected(f"no DLT template id for {template!r} (SMS_DLT_TEMPLATES)")
        return found

    def send(self, message: Message) -> str:
        response = self.session.post(
            self.url,
            data={
                "From": settings.SMS_SENDER_ID,
                "To": message.to,
                "Body": message.text,
                "DltEntityId": settings.SMS_DLT_ENTITY_ID,
                "DltTemplateId": self.dlt_template(message.template),
                "SmsType": "transactional",
                "CustomField": message.key,
            },
            timeout=(3, 10),
        )
        if response.status_code == 200:
            return str(response.json()["SMSMessage"]["Sid"])
        detail = _exotel_error(response)
        if response.status_code in (400, 404, 422):
            raise Rejected(f"Exotel {response.status_code}: {detail}")
        raise ConnectionError(f"Exotel {response.status_code}: {detail}")


def _exotel_error(response: Any) -> str:
    try:
        error = response.json()["RestException"]
        return f"{error.get('Code', '')} {error.get('Message', '')}".strip()
    except Exception:
        return response.text[:200]


# --- Push: Firebase Cloud Messaging HTTP v1 ---------------------------------------------------

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# FCM's error code for a token that will never take a message again. (SENDER_ID_MISMATCH
# says our project or key is wrong, not the token: it must never cost members their devices.)
FCM_DEAD_TOKEN = {"UNREGISTERED"}


class FcmPush:
    """Push through FCM HTTP v1 (`POST /v1/projects/<id>/messages:send`), one message per
    device, authorised by the service account's OAuth2 token (google-auth makes, caches and
    renews it). FCM_CREDENTIALS_FILE (or FCM_CREDENTIALS_JSON) holds the service account's key
    file; FCM_PROJECT_ID defaults to its project. A token FCM calls unregistered gives up and
    removes the device; quota and outages are retried."""

    def __init__(self) -> None:
        import json

        from google.auth.transport.requests import AuthorizedSession
        from google.oauth2 import service_account

        if settings.FCM_CREDENTIALS_JSON:
            info = json.loads(settings.FCM_CREDENTIALS_JSON)
        else:
            info = json.loads(Path(settings.FCM_CREDENTIALS_FILE).read_text())
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[FCM_SCOPE]
        )
        project = settings.FCM_PROJECT_ID or info["project_id"]
        self.url = f"{settings.FCM_ENDPOINT.rstrip('/')}/v1/projects/{project}/messages:send"
        # Token renewals time out well inside a delivery's lease (DELIVERY_LEASE_SECONDS).
        self.session = AuthorizedSession(credentials, refresh_timeout=10)

    def payload(self, message: Message) -> dict[str, Any]:
        # A copy sent again after a sender died mid-request replaces the first on the phone:
        # both carry the same tag (Android) and collapse id (APNs), drawn from the key.
        collapse = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        return {
            "message": {
                "token": message.to,
                "notification": {"title": message.subject, "body": message.text},
                "data": {key: str(value) for key, value in message.data.items()},
                "android": {"priority": "high", "notification": {"tag": collapse}},
                "apns": {"headers": {"apns-priority": "10", "apns-collapse-id": collapse}},
            }
        }

    def send(self, message: Message) -> str:
        response = self.session.post(self.url, json=self.payload(message), timeout=(3, 10))
        if response.status_code == 200:
            return str(response.json().get("name", ""))
        status, code, detail = _fcm_error(response)
        if code in FCM_DEAD_TOKEN:
            raise Rejected(f"FCM {code}", unreachable=True)
        if code == "SENDER_ID_MISMATCH":
            raise Rejected("FCM SENDER_ID_MISMATCH: check FCM_PROJECT_ID and the service account")
        if status == "INVALID_ARGUMENT":
            raise Rejected(f"FCM INVALID_ARGUMENT: {detail}")
        raise ConnectionError(f"FCM {response.status_code} {code or status}: {detail}")


def _fcm_error(response: Any) -> tuple[str, str, str]:
    try:
        error = response.json()["error"]
    except Exception:
        return "", "", response.text[:200]
    codes = [d.get("errorCode", "") for d in error.get("details", []) if isinstance(d, dict)]
    return error.get("status", ""), next((c for c in codes if c), ""), error.get("message", "")
