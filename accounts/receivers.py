"""Audit of sign-ins that go through django.contrib.auth (the admin's login page)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import selectors, services
from accounts.models import AuditAction
from aurum.net import client_ip


@receiver(user_logged_in, dispatch_uid="aurum.audit_admin_login")
def audit_admin_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.audit_record(
        action=AuditAction.LOGIN_SUCCESS,
        actor=user,
        target=user,
        ip=client_ip(request) if request is not None else None,
        metadata={"via": "admin"},
    )


@receiver(user_login_failed, dispatch_uid="aurum.audit_admin_login_failure")
def audit_admin_login_failure(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    user = selectors.user_by_identifier(identifier=str(credentials.get("username") or ""))
    services.audit_record(
        action=AuditAction.LOGIN_FAILURE,
        actor=user,
        target=user,
        ip=client_ip(request) if request is not None else None,
        metadata={"reason": "wrong_password" if user else "unknown_identifier", "via": "admin"},
    )
