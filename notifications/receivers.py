"""What notifications does when other apps' facts change: a suspended account's phones are
forgotten, whichever way staff suspended it (`accounts.services.user_set_active` saves the
account, as chat's and matching's receivers of a suspension see it too)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from accounts.models import User
from notifications import services


def _user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        services.devices_forget(user=instance)  # no push reaches a closed account's phones


def connect() -> None:
    post_save.connect(_user_saved, sender=User, dispatch_uid="notifications.receivers.user")
