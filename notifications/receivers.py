"""What notifications does when other apps' facts change: a closed account's phones are
forgotten, whether staff suspended it or its member deleted it (`accounts.signals`)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.signals import account_closed
from notifications import services


def _account_closed(sender: Any, user: User, why: str, **kwargs: Any) -> None:
    services.devices_forget(user=user)  # no push reaches a closed account's phones


def connect() -> None:
    account_closed.connect(_account_closed, dispatch_uid="notifications.receivers.closed")
