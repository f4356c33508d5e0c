"""`notify`: the one way any app tells a member something."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from aurum import events
from deliveries import services as deliveries
from notifications.models import (
    MAX_TOKEN_LENGTH,
    DeviceToken,
    Kind,
    Notification,
    Platform,
    Preferences,
)

logger = logging.getLogger("aurum.notifications")


def serialize(notification: Notification) -> dict[str, Any]:
    """The one shape of a notification: the list API and the live frame alike."""
    from notifications.serializers import NotificationOut

    return json.loads(json.dumps(NotificationOut(notification).data, cls=DjangoJSONEncoder))


def preferences_of(user: User) -> Preferences:
    prefs, _ = Preferences.objects.get_or_create(user=user)
    return prefs


def notify(
    *,
    recipient: User,
    kind: Kind | str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    channels: frozenset[str] = frozenset({"email", "sms", "push"}),
) -> Notification | None:
    """Store the in-app notification and, in the same transaction, a delivery for each outside
    channel the member's preferences allow, among `channels` (sent after commit, retried until
    it goes: see `deliveries`); after commit it is also pushed live to the member's
    connections. A deleted account gets nothing (None): its notifications were erased."""
    if getattr(recipient, "deleted_at", None) is not None:
        return None
    with transaction.atomic():
        notification = Notification.objects.create(
            recipient=recipient, kind=kind, title=title[:140], body=body, data=data or {}
        )
        _queue_outside(notification, channels)
    events.send_to_user(
        recipient.pk, {"type": "notification.new", "notification": serialize(notification)}
    )
    return notification


def _queue_outside(notification: Notification, channels: frozenset[str]) -> None:
    recipient = notification.recipient
    if not recipient.is_active and notification.kind != Kind.SUSPENSION:
        return  # a suspended or closed account hears nothing more outside the app
    prefs = preferences_of(recipient)
    if notification.kind in prefs.muted_kinds:
        return
    common = {
        "fresh": True,  # keys of a notification just created: no savepoint per delivery
        "template": f"notification.{notification.kind}",
        # What it is, not its title: titles name other members ("Priya accepted…").
        "label": Kind(notification.kind).label
        if notification.kind in Kind.values
        else str(notification.kind),
        "user": recipient,
    }
    key = f"notification:{notification.pk}"
    if prefs.email and recipient.email and "email" in channels:
        context = {"notification": notification, "user": recipient}
        deliveries.queue(
            channel="email",
            to=recipient.email,
            key=f"{key}:email",
            subject=f"Aurum: {notification.title}",
            text=render_to_string("notifications/email.txt", context),
            html=render_to_string("notifications/email.html", context),
            **common,
        )
    if prefs.sms and recipient.phone and "sms" in channels:
        deliveries.queue(
            channel="sms",
            to=recipient.phone,
            key=f"{key}:sms",
            text=f"Aurum: {notification.title}. {notification.body}"[:320],
            **common,
        )
    if prefs.push and "push" in channels:
        devices = _devices_newest_first(recipient)[: settings.NOTIFY_MAX_DEVICES]
        for device_pk, token in devices.values_list("pk", "token"):
            deliveries.queue(
                channel="push",
                to=token,
                key=f"{key}:push:{device_pk}",
                subject=notification.title,
                text=notification.body,
                data={"kind": str(notification.kind), "id": str(notification.id)},
                **common,
            )


def mark_read(*, user: User, ids: list[Any] | None = None, everything: bool = False) -> int:
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if not everything:
        unread = unread.filter(pk__in=ids or [])
    return unread.update(read_at=timezone.now())


def device_register(
    *, user: User, token: str, platform: Platform | str
) -> tuple[DeviceToken, bool]:
    """Idempotent; a token seen under another account moves to this one.

    A member keeps at most NOTIFY_MAX_DEVICES tokens: one more drops the least recently seen
    (an app reinstalled gets a new token and never sends the old one again, so refusing would
    cut a member's new phone off instead). The member's row is locked while counting, so
    parallel registrations cannot leave more."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        device, created = DeviceToken.objects.update_or_create(
            token=token, defaults={"user": user, "platform": platform}
        )
        stale = list(
            _devices_newest_first(user).values_list("pk", flat=True)[settings.NOTIFY_MAX_DEVICES :]
        )
        if stale:
            DeviceToken.objects.filter(pk__in=stale).delete()
    return device, created


def _devices_newest_first(user: User) -> QuerySet[DeviceToken]:
    # A re-registration refreshes last_seen_at (auto_now), so this is most recently used first.
    return DeviceToken.objects.filter(user=user).order_by("-last_seen_at", "-created_at")


def device_remove(*, user: User, token: str) -> None:
    if "\x00" in token or len(token) > MAX_TOKEN_LENGTH:
        return  # not a token anyone could have registered
    DeviceToken.objects.filter(user=user, token=token).delete()


def notifications_forget(*, key: str, values: list[str]) -> int:
    """Other members' notifications about something that is going (their `data[key]` is one
    of `values`): when a member deletes their account, what was written about them ("Anjali
    is interested in you") goes with it."""
    if not values:
        return 0
    going = Notification.objects.filter(**{f"data__{key}__in": values})
    # Their messages not sent yet go too: they would name someone who is gone.
    deliveries.cancel_prefixed(
        prefixes=[f"notification:{pk}:" for pk in going.values_list("pk", flat=True)],
        why="what it was about was erased",
    )
    return going.delete()[0]


def device_unreachable(*, token: str) -> int:
    """The push provider said this token will never take a message (the app was removed)."""
    return DeviceToken.objects.filter(token=token).delete()[0]


def devices_forget(*, user: User) -> int:
    """No more pushes to this account's phones (suspension, account closing)."""
    return DeviceToken.objects.filter(user=user).delete()[0]


def preferences_update(*, user: User, changes: dict[str, Any]) -> Preferences:
    prefs = preferences_of(user)
    for field, value in changes.items():
        setattr(prefs, field, value)
    prefs.save()
    return prefs
