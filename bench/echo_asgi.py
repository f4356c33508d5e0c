"""The channel layer's own ceiling, for bench/chat.py: the same WebSocket clients, each frame
relayed through the channel layer to the other member's group, with no database and no
rules. Not part of the product; run only by the benchmark."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aurum.settings")

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

django_asgi_app = get_asgi_application()

from aurum.sockets import DatabaseOffLoop  # noqa: E402  (after the apps are loaded)


class Echo(DatabaseOffLoop, AsyncWebsocketConsumer):  # dispatched as chat's consumers are
    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        self.me = query["me"][0]
        await self.channel_layer.group_add(f"echo.{self.me}", self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(f"echo.{self.me}", self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
        to = json.loads(text_data or "{}").get("to", "")
        await self.channel_layer.group_send(f"echo.{to}", {"type": "relay", "text": text_data})

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": URLRouter([path("ws/echo", Echo.as_asgi())])}
)
