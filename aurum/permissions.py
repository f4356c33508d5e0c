"""Role-based DRF permissions shared by every app's staff endpoints, and the staff-MFA rule
the admin site shares with them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

STAFF_ROLE_NAMES = frozenset({"moderator", "admin"})
MFA_REQUIRED_FOR_STAFF = "mfa_required_for_staff"


def staff_mfa_required(user: Any) -> bool:
    """Staff with a confirmed TOTP device always use it; every staff member does when
    AURUM_ADMIN_REQUIRE_MFA is on (in prod by default)."""
    if settings.AURUM_ADMIN_REQUIRE_MFA:
        return True
    annotated = getattr(user, "mfa_on", None)
    if annotated is None:
        annotated = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        user.mfa_on = annotated  # asked once per request, not once per check
    return bool(annotated)


def staff_mfa_missing(user: Any) -> bool:
    """A staff member whose session did not use the MFA it needs: true for an admin sign-in
    without a code and for an API token issued without one (`is_verified()`, which django-otp
    sets for sessions and accounts.authentication for tokens)."""
    if not user or not user.is_authenticated or getattr(user, "role", None) not in STAFF_ROLE_NAMES:
        return False
    if not staff_mfa_required(user):
        return False
    verified = getattr(user, "is_verified", None)
    return not (callable(verified) and verified())


def has_staff_powers(user: Any) -> bool:
    """An active staff member whose session satisfies the staff-MFA rule."""
    return (
        bool(user)
        and user.is_authenticated
        and user.is_active
        and getattr(user, "role", None) in STAFF_ROLE_NAMES
        and not staff_mfa_missing(user)
    )


def _role(request: Request) -> str | None:
    user = request.user
    if not user or not user.is_authenticated or not user.is_active:
        return None
    return getattr(user, "role", None)


class _StaffPermission(BasePermission):
    roles: frozenset[str] = STAFF_ROLE_NAMES
    message = "Staff only."
    code = "permission_denied"

    def has_permission(self, request: Request, view: Any) -> bool:
        if _role(request) not in self.roles:
            return False
        if staff_mfa_missing(request.user):
            self.message = (
                "Staff sign in with their authenticator code to use staff powers: log in "
                "again with mfa_code."
            )
            self.code = MFA_REQUIRED_FOR_STAFF
            return False
        return True


class IsModerator(_StaffPermission):
    """Moderators and admins: the verification and report-resolution staff."""


class IsAdminRole(_StaffPermission):
    roles = frozenset({"admin"})
    message = "Admins only."
