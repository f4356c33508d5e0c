"""The member's live connections: `/ws/chat` (messages, typing, receipts, presence, live
notifications) and `/ws/call` (call signalling).

Consumers hold no rules: every frame is validated by the serializers HTTP uses and handed to
`chat.services`. A frame that is not right gets an `error {code, detail}` frame and the socket
stays open; an expired token closes it with 4401, a socket over the member's CHAT_MAX_SOCKETS
is closed with 4429 as it opens.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework import serializers as drf

from accounts.authentication import user_for_socket_token
from accounts.models import User
from aurum import metrics
from aurum.errors import DomainError, RateLimited, Unavailable
from aurum.events import user_group
from aurum.sockets import (
    WS_TOO_MANY_CONNECTIONS,
    WS_UNAUTHORIZED,
    DatabaseOffLoop,
    domain_error_frame,
    error_frame,
)
from chat import serializers, services
from chat.models import ConnectionKind

logger = logging.getLogger("aurum.chat")

# This process, as `Connection.server`: its rows are refreshed by its own timer.
SERVER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
_refresher: asyncio.Task[None] | None = None


async def refresh_once() -> None:
    """This server's periodic chore: keep its connections fresh (forgetting dead servers').
    Calls whose ring timer died with their server are ended by the schedule (`chat.tasks`)."""
    await database_sync_to_async(services.connections_refresh)(server=SERVER_ID)


async def _refresh_forever() -> None:
    while True:
        await asyncio.sleep(settings.CHAT_PRESENCE_REFRESH)
        try:
            await refresh_once()
        except Exception:  # the database may be away for a moment; try again next time
            logger.exception("could not refresh this server's connections")


def _ensure_refresher() -> None:
    global _refresher
    if _refresher is None or _refresher.done():
        _refresher = asyncio.get_running_loop().create_task(_refresh_forever())


def _rate_limited(kind: str, retry_after: float) -> dict[str, Any]:
    seconds = max(1, math.ceil(retry_after))
    return {
        **error_frame("rate_limited", f"Too many {kind} frames. Try again in {seconds} s."),
        "retry_after": seconds,
    }


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        name, value = next(iter(detail.items()))
        return f"{name}: {_first_message(value)}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


_validators: dict[type[drf.Serializer], drf.Serializer] = {}


def _validator(serializer_class: type[drf.Serializer]) -> drf.Serializer:
    """One unbound instance per frame serializer: DRF copies a serializer's fields each time
    one is made, a cost worth paying once, not once a frame. Validation keeps no state on the
    instance, and frames are validated on the event loop's one thread."""
    if serializer_class not in _validators:
        _validators[serializer_class] = serializer_class()
    return _validators[serializer_class]


MAX_BATCH = 200
MAX_SENDING = 32  # a device's messages waiting to be stored; past it, its next frame waits
_TRY_AGAIN = Unavailable("Messages cannot be stored just now; send it again.", "try_again")


class SendBatcher:
    """Group commit for one server process: sends that arrive while a batch is being written
    wait and go together in the next one (`services.messages_send`), so under load a message
    costs a share of a few queries instead of a dozen of its own; alone, it goes at once."""

    def __init__(self) -> None:
        self.waiting: list[tuple[services.SendRequest, asyncio.Future[Any]]] = []
        self.writing = False

    def submit(self, request: services.SendRequest) -> asyncio.Future[Any]:
        """Queue `request` for the next batch; its result (or the error that refused it) comes
        in the future. Requests are written in the order they are submitted."""
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append((request, result))
        if not self.writing:
            self.writing = True
            asyncio.get_running_loop().create_task(self._write())
        return result

    async def _write(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                try:
                    results = await _run(services.messages_send)([r for r, _ in batch])
                except Exception:  # the database is away: every sender hears it, and retries
                    logger.exception("could not store a batch of %d messages", len(batch))
                    results = [_TRY_AGAIN] * len(batch)
                for (_, waiter), result in zip(batch, results, strict=True):
                    if not waiter.done():
                        waiter.set_result(result)
        finally:
            self.writing = False


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendBatcher] = (
    weakref.WeakKeyDictionary()
)


def _sends() -> SendBatcher:
    loop = asyncio.get_running_loop()
    if loop not in _batchers:
        _batchers[loop] = SendBatcher()
    return _batchers[loop]


class MemberSocket(DatabaseOffLoop, AsyncJsonWebsocketConsumer):
    """Authentication, the token's lifetime, frame validation and errors; subclasses name
    their groups and their frames (type -> serializer, handler)."""

    frames: ClassVar[dict[str, tuple[type[drf.Serializer] | None, str]]] = {}
    socket_path: ClassVar[str] = ""  # its route, the label of its metrics
    # Frame kinds whose service counts them against a per-member limit: once one is refused,
    # this socket refuses that kind itself until the limit's window ends (no thread hop, no
    # cache round trip), so a flood costs a dictionary look-up a frame.
    throttled: ClassVar[frozenset[str]] = frozenset()
    user: User

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quiet_until: dict[str, float] = {}  # kind -> time.monotonic() it may go again

    def member_groups(self) -> list[str]:
        raise NotImplementedError

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept first: a close before accept is an HTTP 403 to the client, and the apps
            # need the 4401 close code to know they must refresh their token.
            await self.accept()
            await self.close(code=WS_UNAUTHORIZED)
            metrics.WEBSOCKET_CONNECTS.labels(self.socket_path, "unauthorized").inc()
            return
        self.user = user
        self.joined = self.member_groups()
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        _ensure_refresher()
        try:
            greeting = await self.joining()
        except RateLimited:
            for group in self.joined:
                await self.channel_layer.group_discard(group, self.channel_name)
            del self.joined  # nothing to undo when it closes
            await self.accept()
            await self.close(code=WS_TOO_MANY_CONNECTIONS)
            metrics.WEBSOCKET_CONNECTS.labels(self.socket_path, "too_many").inc()
            return
        await self.accept()
        metrics.WEBSOCKET_CONNECTS.labels(self.socket_path, "accepted").inc()
        metrics.WEBSOCKETS_OPEN.labels(self.socket_path).inc()
        self.counted = True
        expires = self.scope.get("token_expires")
        if expires is not None:
            self._schedule_expiry(expires)
        for frame in greeting:
            await self.send_json(frame)

    async def joining(self) -> list[dict[str, Any]]:
        """Before the connection is accepted (so a device is counted from the moment it is
        open): record it (RateLimited when the member has too many open), and return the
        frames to send it first."""
        raise NotImplementedError

    async def closed(self) -> None:
        """After a member's connection closed."""

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            metrics.WEBSOCKETS_OPEN.labels(self.socket_path).dec()
            self.counted = False
        if not hasattr(self, "joined"):
            return
        if hasattr(self, "expiry"):
            self.expiry.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.closed()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not text_data:  # binary or empty frames: the protocol is JSON text
            await self.send_json(error_frame("invalid_frame", "Send a JSON object with a type."))
            return
        await super().receive(text_data=text_data)

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested past what json.loads takes
            return None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        expires = self.scope.get("token_expires")
        if expires is not None and time.time() >= expires:
            await self.close(code=WS_UNAUTHORIZED)
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json(error_frame("invalid_frame", "Send a JSON object with a type."))
            return
        kind = content["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind == "auth":
            await self.renew(content.get("token"))
            return
        if kind not in self.frames:
            await self.send_json(error_frame("unknown_type", f"Unknown frame type: {kind[:40]!r}."))
            return
        if self.quiet_until:
            wait = self.quiet_until.get(kind, 0.0) - time.monotonic()
            if wait > 0:
                await self.send_json(_rate_limited(kind, wait))
                return
            self.quiet_until.pop(kind, None)
        serializer_class, handler = self.frames[kind]
        data = content
        if serializer_class is not None:
            quick = getattr(serializer_class, "quick_validation", None)
            data = quick(content) if quick is not None else None
            if data is None:
                try:
                    data = _validator(serializer_class).run_validation(content)
                except drf.ValidationError as exc:
                    await self.send_json(error_frame("invalid", _first_message(exc.detail)))
                    return
        await self.answering(kind, getattr(self, handler), data)

    async def answering(
        self, kind: str, handler: Callable[[Any], Awaitable[None]], data: Any
    ) -> None:
        """Run a frame's handler; what refuses it becomes an error frame to this device."""
        try:
            await handler(data)
        except RateLimited as exc:
            retry_after = exc.retry_after or 60.0
            if kind in self.throttled:
                self.quiet_until[kind] = time.monotonic() + retry_after
            if exc.code == RateLimited.default_code:  # a frame limit: say which kind it is
                await self.send_json(_rate_limited(kind, retry_after))
            else:
                await self.send_json(domain_error_frame(exc))
        except DomainError as exc:
            await self.send_json(domain_error_frame(exc))
        except Exception:  # never let one frame take the socket down
            logger.exception("frame %s failed", kind)
            await self.send_json(error_frame("server_error", "That did not work; try again."))

    async def renew(self, raw: Any) -> None:
        """`auth {token}`: a fresh access token of the same member moves the socket's expiry,
        so a long call or chat outlives the token it connected with."""
        user, expires = await user_for_socket_token(raw) if isinstance(raw, str) else (None, None)
        if expires is None or getattr(user, "pk", None) != self.user.pk:
            await self.send_json(error_frame("invalid_token", "That token is not valid for you."))
            return
        self.scope["token_expires"] = expires
        self.scope["user"].session_id = getattr(user, "session_id", None)
        self._schedule_expiry(expires)
        await self.send_json({"type": "auth.ok", "expires_at": expires})

    def _schedule_expiry(self, expires: int) -> None:
        if hasattr(self, "expiry"):
            self.expiry.cancel()
        self.expiry = asyncio.get_running_loop().call_later(
            max(0.0, expires - time.time()),
            lambda: asyncio.ensure_future(self.close(code=WS_UNAUTHORIZED)),
        )

    async def forward(self, event: dict[str, Any]) -> None:
        """A frame from the channel layer, sent as it is."""
        await self.send_json(event)

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """The account was suspended or closed (every connection goes), or some of its
        sessions ended (`sessions`: a logout, a password change): their connections go."""
        ended = event.get("sessions")
        if ended is None or getattr(self.scope["user"], "session_id", None) in ended:
            await self.close(code=WS_UNAUTHORIZED)


def _run(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function` in a worker thread. On PostgreSQL any of a pool's threads (not the one
    thread Channels shares by default), so one member's send does not wait behind another's;
    SQLite takes one writer at a time, so there the shared thread."""
    return DatabaseSyncToAsync(function, thread_sensitive=_ONE_WRITER)


_ONE_WRITER = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


class ChatConsumer(MemberSocket):
    socket_path = "/ws/chat"
    frames: ClassVar[dict[str, tuple[type[drf.Serializer] | None, str]]] = {
        "message.send": (serializers.FrameSendIn, "on_send"),
        "typing": (serializers.FrameTypingIn, "on_typing"),
        "read": (serializers.FrameReadIn, "on_read"),
    }
    # message.send is limited in its batch (`chat_message`), where a repeat still answers.
    throttled: ClassVar[frozenset[str]] = frozenset({"typing", "read"})

    def member_groups(self) -> list[str]:
        return [user_group(self.user.pk)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sending: set[asyncio.Task[None]] = set()

    async def joining(self) -> list[dict[str, Any]]:
        return await _run(services.connection_open)(
            user=self.user, channel_name=self.channel_name, server=SERVER_ID
        )

    async def closed(self) -> None:
        for task in self.sending:  # their messages are stored all the same; no one to answer
            task.cancel()
        await _run(services.connection_close)(user=self.user, channel_name=self.channel_name)

    async def on_send(self, data: dict[str, Any]) -> None:
        """Queued for the process's next batch; the socket goes on reading the device's next
        frames meanwhile (a device's messages still go in the order it sent them), so a batch
        holds every message in flight, not one per device."""
        if len(self.sending) >= MAX_SENDING:
            await asyncio.wait(self.sending, return_when=asyncio.FIRST_COMPLETED)
        request = services.SendRequest(
            sender=self.user,
            body=data["body"],
            client_id=data["client_id"],
            conversation_id=data.get("conversation_id"),
            recipient_id=data.get("recipient_id"),
            channel_name=self.channel_name,
        )
        stored = _sends().submit(request)
        task = asyncio.get_running_loop().create_task(
            self.answering("message.send", self._sent, stored)
        )
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _sent(self, stored: asyncio.Future[Any]) -> None:
        result = await stored
        if isinstance(result, Exception):
            raise result
        message, _created = result  # a repeat is acknowledged with the first message
        await self.send_json(services.ack_frame(message))

    async def on_typing(self, data: dict[str, Any]) -> None:
        await _run(services.typing)(user=self.user, conversation_id=data["conversation_id"])

    async def on_read(self, data: dict[str, Any]) -> None:
        await _run(services.messages_read)(
            user=self.user, conversation_id=data["conversation_id"], up_to_id=data["up_to_id"]
        )

    # Frames from the channel layer, forwarded as they are.
    message_new = message_ack = message_edited = message_deleted = MemberSocket.forward
    typing = read = presence = notification_new = MemberSocket.forward


class CallConsumer(MemberSocket):
    socket_path = "/ws/call"
    frames: ClassVar[dict[str, tuple[type[drf.Serializer] | None, str]]] = {
        "call.invite": (serializers.FrameInviteIn, "on_invite"),
        "call.accept": (serializers.FrameCallIn, "on_accept"),
        "call.reject": (serializers.FrameCallIn, "on_reject"),
        "call.hangup": (serializers.FrameCallIn, "on_hangup"),
        "offer": (serializers.FrameSdpIn, "on_relay"),
        "answer": (serializers.FrameSdpIn, "on_relay"),
        "ice_candidate": (serializers.FrameIceIn, "on_relay"),
    }
    throttled: ClassVar[frozenset[str]] = frozenset({"call.invite"})

    def member_groups(self) -> list[str]:
        return [services.calls_group(self.user.pk)]

    async def joining(self) -> list[dict[str, Any]]:
        await _run(services.socket_open)(
            user=self.user,
            channel_name=self.channel_name,
            server=SERVER_ID,
            kind=ConnectionKind.CALL,
        )
        return []

    async def on_invite(self, data: dict[str, Any]) -> None:
        call = await _run(services.call_invite)(
            caller=self.user,
            callee_id=data["to_user_id"],
            media=data["media"],
            channel_name=self.channel_name,
        )
        timer = asyncio.get_running_loop().create_task(_expire_later(call.pk))
        _timers.add(timer)  # held, or the loop could drop the task before it runs
        timer.add_done_callback(_timers.discard)

    async def on_accept(self, data: dict[str, Any]) -> None:
        await _run(services.call_accept)(
            user=self.user, call_id=data["call_id"], channel_name=self.channel_name
        )

    async def on_reject(self, data: dict[str, Any]) -> None:
        await _run(services.call_reject)(user=self.user, call_id=data["call_id"])

    async def on_hangup(self, data: dict[str, Any]) -> None:
        await _run(services.call_hangup)(user=self.user, call_id=data["call_id"])

    async def on_relay(self, data: dict[str, Any]) -> None:
        kind = data["type"]
        payload = (
            {"candidate": data["candidate"]} if kind == "ice_candidate" else {"sdp": data["sdp"]}
        )
        await _run(services.call_signal)(
            user=self.user,
            call_id=data["call_id"],
            kind=kind,
            payload=payload,
            channel_name=self.channel_name,
        )

    async def closed(self) -> None:
        await _run(services.call_socket_close)(channel_name=self.channel_name)

    call_ringing = call_accepted = call_ended = MemberSocket.forward
    offer = answer = ice_candidate = MemberSocket.forward


_timers: set[asyncio.Task[None]] = set()


async def _expire_later(call_id: Any) -> None:
    await asyncio.sleep(settings.CHAT_CALL_RING_SECONDS)
    try:
        await database_sync_to_async(services.call_expire)(call_id=call_id)
    except Exception:  # the schedule's ring-out (chat.tasks) ends it later
        logger.exception("could not expire call %s", call_id)
