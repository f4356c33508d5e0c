from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    PROFILE_CODE_ALPHABET,
    PROFILE_CODE_LENGTH,
    PROFILE_CODE_PREFIX,
    User,
)
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


PROFILE_CODE_RE = re.compile(
    rf"^{PROFILE_CODE_PREFIX}[{PROFILE_CODE_ALPHABET}]{{{PROFILE_CODE_LENGTH}}}$"
)


def public_id_value(*, value: str) -> uuid.UUID | str | None:
    """A public id as the API allows it: a UUID, or a profile code (upper case); None for
    anything else, which is never sent to the database."""
    text = str(value).strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    code = text.upper()
    return code if PROFILE_CODE_RE.match(code) else None


def public_id_condition(*, value: str, prefix: str = "") -> Q | None:
    """The rows naming that member (through `prefix`, e.g. "user__", from another table)."""
    found = public_id_value(value=value)
    if found is None:
        return None
    if isinstance(found, uuid.UUID):
        return Q(**{f"{prefix}pk": found})
    return Q(**{f"{prefix}profile_code": found})


def user_by_public_id(*, value: str) -> User | None:
    """A member by UUID or profile code; None for anything else."""
    named = public_id_condition(value=value)
    return User.objects.filter(named).first() if named is not None else None


def confirmed_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def mfa_enabled(*, user: User) -> bool:
    annotated = getattr(user, "mfa_on", None)
    if annotated is not None:
        return bool(annotated)
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def signups_per_day(*, days: int) -> dict[date, int]:
    since = timezone.now() - timedelta(days=days)
    rows = (
        User.objects.filter(date_joined__gte=since, role="user")
        .annotate(day=TruncDate("date_joined"))
        .values("day")
        .annotate(n=Count("pk"))
    )
    return {row["day"]: row["n"] for row in rows}


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s. No user (an unknown identifier) costs the same hashing
    work as a wrong password, so the time of the answer tells nobody which it was."""
    if user is None:
        User().set_password(password)
        return False
    return user.check_password(password)


def account_key(user: User | None, identifier: str) -> str:
    """What per-account limits count: the account itself, however its identifier is spelled
    (an unknown one by its normal form, so spellings of it share a count too)."""
    if user is not None:
        return str(user.pk)
    return normalize_identifier(identifier) or identifier.strip().lower()
