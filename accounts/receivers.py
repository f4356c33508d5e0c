"""What accounts does when django.contrib.auth's signals fire: sign-ins through the admin's
login page are audited (the API's own sign-ins audit themselves in `services`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed

from accounts import selectors, services
from accounts.models import AuditAction
from aurum.net import client_ip


def audit_admin_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.audit_record(
        action=AuditAction.LOGIN_SUCCESS,
        actor=user,
        target=user,
        ip=client_ip(request) if request is not None else None,
        metadata={"via": "admin"},
    )


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


def connect() -> None:
    user_logged_in.connect(audit_admin_login, dispatch_uid="aurum.audit_admin_login")
    user_login_failed.connect(
        audit_admin_login_failure, dispatch_uid="aurum.audit_admin_login_failure"
    )
