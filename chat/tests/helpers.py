"""Two members who may talk, and WebSocket clients for them."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.services import tokens_issue
from aurum.asgi import application
from chat.models import Conversation
from matching import services as matching
from matching.selectors import pair_key
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member


def connected_pair(bride: Profile | None = None) -> tuple[Profile, Profile, Conversation]:
    """A bride (this one, or a new member) and a new groom whose interest is accepted (which
    opens their conversation)."""
    bride, groom = bride or make_member(), make_groom()
    interest = matching.interest_send(sender=groom.user, receiver=bride.user)
    matching.interest_accept(user=bride.user, interest=interest)
    low, high = pair_key(bride.user.pk, groom.user.pk)
    return bride, groom, Conversation.objects.get(member_low=low, member_high=high)


def token_for(profile: Profile) -> str:
    return tokens_issue(user=profile.user).access_token


async def socket_for(profile: Profile, path: str = "/ws/chat") -> WebsocketCommunicator:
    token = await database_sync_to_async(token_for)(profile)
    ws = WebsocketCommunicator(application, f"{path}?token={token}")
    connected, _ = await ws.connect()
    assert connected
    return ws


async def frames_until(ws: WebsocketCommunicator, kind: str, timeout: float = 2) -> dict[str, Any]:
    """The next frame of `kind`, skipping others (presence, notifications)."""
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        if frame["type"] == kind:
            return frame


async def nothing_more(ws: WebsocketCommunicator, kind: str | None = None) -> bool:
    """True when no frame (of `kind`, when given) arrives within a short wait; frames of
    other kinds are read and dropped. (A receive that times out would stop the consumer.)"""
    while not await ws.receive_nothing(timeout=0.3):
        frame = await ws.receive_json_from()
        if kind is None or frame["type"] == kind:
            return False
    return True
