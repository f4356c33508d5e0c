"""A member's rights over their data (India's DPDP Act 2023, the GDPR): a copy of everything
Aurum holds on them, and erasure.

Each app says what it holds on a member and how it goes in its `privacy` module (`export`,
`erase`); settings list those modules (`MEMBER_DATA`, in erasure's order), so accounts knows
no other app's models. Export gathers every part; erasure runs every part in one transaction,
then anonymises the account itself, which stays as the "deleted member" that other members'
conversations and the audit log still point at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import selectors
from accounts.audit import audit_record
from accounts.models import AuditAction, AuditLog, OneTimeCode, User
from accounts.signals import account_closed
from aurum import events

DELETED_NAME = "Deleted member"


@dataclass(frozen=True)
class MemberData:
    """A part of a member's data: `export(user)` returns it (JSON-ready: DRF's encoder takes
    UUIDs and times); `erase(user)` removes what must go when the member deletes their
    account."""

    name: str
    export: Callable[[User], Any]
    erase: Callable[[User], None]


def _parts() -> list[MemberData]:
    parts = []
    for name, path in settings.MEMBER_DATA.items():
        module = import_module(path)
        parts.append(MemberData(name, module.export, module.erase))
    return parts


def member_parts() -> list[str]:
    return ["account", *settings.MEMBER_DATA]


def member_export(user: User) -> dict[str, Any]:
    """Everything Aurum holds on `user`, part by part."""
    data: dict[str, Any] = {"account": _account(user)}
    for part in _parts():
        data[part.name] = part.export(user)
    return data


def _account(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "email": user.email,
        "phone": user.phone,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "is_active": user.is_active,
        "admin_approved": user.admin_approved,
        "profile_code": user.profile_code,
        "date_joined": user.date_joined,
        "mfa_enabled": selectors.mfa_enabled(user=user),
        "sessions": list(
            OutstandingToken.objects.filter(user=user)
            .order_by("created_at")
            .values("created_at", "expires_at", revoked_at=F("blacklistedtoken__blacklisted_at"))
        ),
        "activity": list(
            AuditLog.objects.filter(actor=user)
            .order_by("created_at")
            .values("action", "created_at", "ip", "target_type", "target_id", "metadata")
        ),
    }


def member_erase(user: User) -> None:
    """Every part's erasure, then the account's own: sign-in material gone, the account
    anonymous and closed, the addresses in its audit records forgotten, and a record that it
    happened. Open sockets close once it commits."""
    with transaction.atomic():
        # The account's row is the lock an upload in flight waits on (media.services).
        user = User.objects.select_for_update().get(pk=user.pk)
        for part in _parts():
            part.erase(user)
        OutstandingToken.objects.filter(user=user).delete()  # their blacklist rows too
        OneTimeCode.objects.filter(user=user).delete()
        TOTPDevice.objects.filter(user=user).delete()
        user.email = None
        user.phone = None
        user.first_name = DELETED_NAME
        user.last_name = ""
        user.set_unusable_password()
        user.is_active = False
        user.admin_approved = False
        user.deleted_at = timezone.now()
        user.save()
        account_closed.send(sender=User, user=user, why="deleted")
        AuditLog.objects.filter(actor=user).forget_addresses()
        audit_record(
            action=AuditAction.ACCOUNT_DELETED,
            actor=user,
            target=user,
            actor_label=f"{user.profile_code} (deleted)",
        )
        events.send_to_user(user.pk, {"type": "session.revoked"})
