from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.phone import InvalidPhone, looks_like_email, normalize_phone


def normalize_identifier(identifier: str) -> str | None:
    """An email (lowercased) or a phone in E.164; None when it is neither."""
    identifier = identifier.strip()
    if looks_like_email(identifier):
        return identifier.lower()
    try:
        return normalize_phone(identifier)
    except InvalidPhone:
        return None


def user_by_identifier(*, identifier: str) -> User | None:
    """The account an email or phone names, with `mfa_on` annotated (saves a login a query)."""
    value = normalize_identifier(identifier)
    if value is None:
        return None
    field = "email" if looks_like_email(value) else "phone"
    confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return User.objects.filter(**{field: value}).annotate(mfa_on=Exists(confirmed)).first()


def user_by_public_id(*, value: str) -> User | None:
    """A member by UUID or profile code, the two public ids API.md allows."""
    try:
        return User.objects.filter(pk=uuid.UUID(str(value))).first()
    except ValueError:
        return User.objects.filter(profile_code=str(value).strip().upper()).first()


def confirmed_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def mfa_enabled(*, user: User) -> bool:
    annotated = getattr(user, "mfa_on", None)
    if annotated is not None:
        return bool(annotated)
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
