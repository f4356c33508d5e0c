"""What notifications does when other apps' facts change: a closed account's phones are
forgotten, whether staff suspended it or its member deleted it (`accounts.signals`); a push
token the provider calls dead is forgotten (`deliveries.signals`)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.signals import account_closed
from deliveries.signals import address_unreachable
from notifications import services


def _account_closed(sender: Any, user: User, why: str, **kwargs: Any) -> None:
    services.devices_forget(user=user)  # no push reaches a closed account's phones


def _address_unreachable(sender: Any, channel: str, address: str, **kwargs: Any) -> None:
    if channel == "push":
        services.device_unreachable(token=address)  # FCM called the token unregistered


def connect() -> None:
    account_closed.connect(_account_closed, dispatch_uid="notifications.receivers.closed")
    address_unreachable.connect(
        _address_unreachable, dispatch_uid="notifications.receivers.unreachable"
    )
