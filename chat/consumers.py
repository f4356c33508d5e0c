"""The member's live connection. Later issues add messages, typing, receipts and presence."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from aurum.events import user_group
from aurum.ws import WS_UNAUTHORIZED


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept first: a close before accept is an HTTP 403 to the client, and the apps
            # need the 4401 close code to know they must refresh their token.
            await self.accept()
            await self.close(code=WS_UNAUTHORIZED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json(
                {
                    "type": "error",
                    "code": "invalid_frame",
                    "detail": "Send a JSON object with a type.",
                }
            )
            return
        kind = content["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        await self.send_json(
            {"type": "error", "code": "unknown_type", "detail": f"Unknown frame type: {kind!r}."}
        )

    async def notification_new(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "notification.new", "notification": event["notification"]})

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """The account was suspended or closed: drop every connection it has."""
        await self.close(code=WS_UNAUTHORIZED)

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None
