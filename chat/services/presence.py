"""Chat settings and live connections: who is online, the socket cap, and telling
contacts when a member comes and goes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from aurum import events
from aurum.errors import RateLimited
from chat.models import (
    ChatSettings,
    Connection,
    ConnectionKind,
)
from chat.selectors import fresh_since, is_online, online_among, presences_of
from chat.services.reach import pair_problems
from matching import selectors as matching_selectors


def settings_of(user: User) -> ChatSettings:
    found, _ = ChatSettings.objects.get_or_create(user=user)
    return found


def settings_update(*, user: User, changes: dict[str, Any]) -> ChatSettings:
    found = settings_of(user)
    for name, value in changes.items():
        setattr(found, name, value)
    found.save()
    return found


def _contacts(user: User) -> list[Any]:
    """Members who may see my presence: those I may talk to (`problems`)."""
    contacts = matching_selectors.contacts_of(user)
    problems = pair_problems({(user.pk, other) for other in contacts})
    return [other for other in contacts if frozenset((user.pk, other)) not in problems]


def _announce_presence(user: User, contacts: list[Any] | None = None) -> None:
    for frame in presences_of([user.pk]):
        for contact in _contacts(user) if contacts is None else contacts:
            events.send_to_user(contact, frame)


def connection_open(*, user: User, channel_name: str, server: str) -> list[dict[str, Any]]:
    """Record a live chat connection (`socket_open`: 429 over the cap); the first one makes
    the member online for their contacts. Returns the presence of the member's contacts,
    for the new connection."""
    was_online = is_online(user.pk)
    socket_open(user=user, channel_name=channel_name, server=server, kind=ConnectionKind.CHAT)
    contacts = _contacts(user)
    if not was_online:
        _announce_presence(user, contacts)
    return presences_of(contacts)


def socket_open(*, user: User, channel_name: str, server: str, kind: str) -> None:
    """Record a live socket of `user`'s, unless CHAT_MAX_SOCKETS of theirs are open already
    (chat and call together; a dead server's rows stop counting once stale): then 429
    `too_many_connections`, and nothing is stored. The member's row is locked meanwhile, so
    two sockets opening at once cannot both take the last place."""
    cap = settings.CHAT_MAX_SOCKETS
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        open_now = Connection.objects.filter(user=user, seen_at__gte=fresh_since())
        if open_now.exclude(channel_name=channel_name).count() >= cap:
            raise RateLimited(
                detail=f"At most {cap} connections may be open at once; close one first.",
                code="too_many_connections",
            )
        Connection.objects.update_or_create(
            channel_name=channel_name,
            defaults={"user": user, "kind": kind, "server": server, "seen_at": timezone.now()},
        )


def connection_close(*, user: User, channel_name: str) -> None:
    """The last connection leaving makes the member offline, last seen now."""
    Connection.objects.filter(channel_name=channel_name).delete()
    if not is_online(user.pk):
        if not User.objects.filter(pk=user.pk, deleted_at__isnull=True).exists():
            return  # the account was deleted (its sockets close after): nothing to keep
        ChatSettings.objects.update_or_create(user=user, defaults={"last_seen_at": timezone.now()})
        _announce_presence(user)


def connections_refresh(*, server: str) -> None:
    """Keep this process's connections fresh; forget those of processes that died. Their
    members who have no other live connection go offline, last seen when those connections
    were last refreshed, and their contacts are told."""
    Connection.objects.filter(server=server).update(seen_at=timezone.now())
    cutoff = fresh_since()
    stale = Connection.objects.filter(seen_at__lt=cutoff)
    rows = list(stale.values_list("user_id", "seen_at", "kind"))
    if not rows:
        return
    stale.delete()  # call sockets' rows too: their places under the cap come free
    last_refreshed: dict[Any, Any] = {}
    for user_id, seen_at, kind in rows:
        if kind == ConnectionKind.CHAT:  # a call socket never made its member online
            last_refreshed[user_id] = max(seen_at, last_refreshed.get(user_id, seen_at))
    still_online = online_among(set(last_refreshed))
    for member in User.objects.filter(pk__in=set(last_refreshed) - still_online):
        ChatSettings.objects.update_or_create(
            user=member, defaults={"last_seen_at": last_refreshed[member.pk]}
        )
        _announce_presence(member)
