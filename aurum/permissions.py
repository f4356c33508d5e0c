"""Role-based DRF permissions shared by every app's staff endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def _role(request: Request) -> str | None:
    user = request.user
    if not user or not user.is_authenticated or not user.is_active:
        return None
    return getattr(user, "role", None)


class IsModerator(BasePermission):
    """Moderators and admins: the verification and report-resolution staff."""

    message = "Staff only."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _role(request) in {"moderator", "admin"}


class IsAdminRole(BasePermission):
    message = "Admins only."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _role(request) == "admin"


class IsSelfOrModerator(BasePermission):
    """Object access for the member the object belongs to, or staff."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        owner_id = getattr(obj, "user_id", None) or getattr(obj, "pk", None)
        return _role(request) in {"moderator", "admin"} or owner_id == request.user.pk
