"""Local servers that answer as the providers do — Exotel's SMS API and FCM HTTP v1 with
Google's OAuth2 token endpoint — signatures, credentials and errors included. The tests and
bench/queue.py point the real backends at them."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class FakeProvider:
    """Runs a handler on a free local port in a thread; `received` keeps what it accepted."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.failures: list[tuple[int, dict[str, Any]]] = []  # answered first, in order
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = provider.answer(self.path, self.headers, body)  # any case
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, status: int, answer: dict[str, Any], times: int = 1) -> None:
        with self.lock:
            self.failures.extend([(status, answer)] * times)

    def _injected(self) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeExotel(FakeProvider):
    """Exotel's `POST /v1/Accounts/<sid>/Sms/send.json`: basic auth with the API key and token,
    form fields From, To, Body; for Indian numbers DltEntityId and DltTemplateId are required,
    as the operators' DLT scrubbing requires. Errors come as `{"RestException": {...}}`."""

    def __init__(self, sid: str = "aurum1", key: str = "key", token: str = "token") -> None:  # noqa: S107 - the fake's own
        super().__init__()
        self.sid, self.key, self.token = sid, key, token

    @staticmethod
    def error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
        return status, {"RestException": {"Status": status, "Code": code, "Message": message}}

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.token}".encode()).decode()
        if headers.get("Authorization") != expected:
            return self.error(401, 1010, "Authentication is required to view this resource")
        if path != f"/v1/Accounts/{self.sid}/Sms/send.json":
            return self.error(404, 1000, "The requested resource was not found")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            self.attempts.append(form)
        if self.delay:
            time.sleep(self.delay)
        if injected := self._injected():
            return injected
        to = form.get("To", "")
        if not to.startswith("+") or not to[1:].isdigit() or len(to) < 11:
            return self.error(400, 11002, f"'To' number {to} is not a valid phone number")
        if to.startswith("+91"):
            if not form.get("DltEntityId") or not form.get("DltTemplateId"):
                return self.error(400, 34010, "DLT Entity ID and Template ID are mandatory")
            if not form.get("From"):
                return self.error(400, 34011, "Sender ID (header) is mandatory")
        sid = uuid.uuid4().hex
        with self.lock:
            self.received.append({**form, "Sid": sid})
        return 200, {"SMSMessage": {"Sid": sid, "Status": "queued", "To": to}}


class FakeFcm(FakeProvider):
    """FCM HTTP v1 and Google's OAuth2 token endpoint. `service_account` is a key file's
    content whose `token_uri` points here; the token endpoint checks the signed JWT grant with
    the key's public half and hands out short tokens; `messages:send` wants a live one.
    `unregistered` holds tokens FCM no longer knows (404 UNREGISTERED)."""

    def __init__(self, project: str = "aurum-test") -> None:
        super().__init__()
        self.project = project
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.tokens: dict[str, float] = {}
        self.token_grants = 0
        self.unregistered: set[str] = set()
        self.token_lifetime = 3600
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.service_account = {
            "type": "service_account",
            "project_id": project,
            "private_key_id": "fake-key-1",
            "private_key": pem,
            "client_email": f"push@{project}.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{self.url}/token",
        }

    @staticmethod
    def error(status: int, name: str, code: str = "", message: str = "") -> tuple[int, Any]:
        details = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
        ]
        return status, {
            "error": {"code": status, "message": message or name, "status": name,
                      "details": details if code else []}
        }  # fmt: skip

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if path == "/token":
            return self._grant(body)
        if path != f"/v1/projects/{self.project}/messages:send":
            return self.error(404, "NOT_FOUND")
        bearer = headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens.get(bearer, 0) < time.time():
            return self.error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR",
                              "Request had invalid authentication credentials.")  # fmt: skip
        message = json.loads(body)["message"]
        with self.lock:
            self.attempts.append(message)
        if injected := self._injected():
            return injected
        if not message.get("token"):
            return self.error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "token is required")
        if message["token"] in self.unregistered:
            return self.error(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
        if any(not isinstance(v, str) for v in message.get("data", {}).values()):
            return self.error(
                400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "data values are strings"
            )
        name = f"projects/{self.project}/messages/0:{uuid.uuid4().hex}"
        with self.lock:
            self.received.append({**message, "name": name, "at": time.time()})
        return 200, {"name": name}

    def _grant(self, body: bytes) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.key.public_key(),
                algorithms=["RS256"],
                # google-auth signs for Google's endpoint, wherever token_uri sends it.
                audience="https://oauth2.googleapis.com/token",
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        if "firebase.messaging" not in claims.get("scope", ""):
            return 400, {"error": "invalid_scope"}
        token = uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.token_grants += 1
        return 200, {
            "access_token": token,
            "expires_in": self.token_lifetime,
            "token_type": "Bearer",
        }
