"""Identity: registration, login, tokens, one-time codes, MFA, roles and the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import selectors
from accounts.models import (
    MODERATORS_GROUP,
    AuditAction,
    AuditLog,
    CodePurpose,
    OneTimeCode,
    Role,
    User,
)
from accounts.phone import looks_like_email
from accounts.senders import get_sender
from aurum import events
from aurum.errors import ApiError

SESSION_CLAIM = "sid"


# --- Audit ------------------------------------------------------------------------------------


def audit_record(
    *,
    action: AuditAction | str,
    actor: User | None = None,
    target: Any = None,
    ip: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit record. `target` is any model instance (or None)."""
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    actor_label = f"{actor.profile_code} ({actor.role})" if actor is not None else ""
    return AuditLog.objects.create(
        actor=actor,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip or None,
        metadata=metadata or {},
    )


# --- Registration -----------------------------------------------------------------------------


def _password_errors(password: str, user: User) -> list[str]:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        return list(exc.messages)
    return []


def user_register(
    *,
    password: str,
    first_name: str,
    last_name: str = "",
    email: str | None = None,
    phone: str | None = None,
    ip: str | None = None,
    audit: bool = True,
) -> User:
    """Create a member account. Email and phone arrive normalised by the serializer.

    A duplicate email or phone answers 409; the unique constraints decide under a race.
    """
    email = email.lower() if email else None
    user = User(email=email, phone=phone or None, first_name=first_name, last_name=last_name)
    if errors := _password_errors(password, user):
        raise serializers.ValidationError({"password": errors})
    _ensure_identifiers_free(email=email, phone=phone)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            if audit:
                audit_record(action=AuditAction.REGISTER, actor=user, target=user, ip=ip)
    except IntegrityError as exc:
        raise ApiError(
            "An account with this email or phone already exists.", "duplicate", 409
        ) from exc
    return user


def _ensure_identifiers_free(*, email: str | None, phone: str | None) -> None:
    if email and User.objects.filter(email=email).exists():
        raise ApiError("An account with this email already exists.", "duplicate_email", 409)
    if phone and User.objects.filter(phone=phone).exists():
        raise ApiError("An account with this phone already exists.", "duplicate_phone", 409)


# --- Tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


def tokens_issue(*, user: User, session_id: str | None = None) -> TokenPair:
    """A new access + refresh pair. Pairs of one login share a session id (claim `sid`)."""
    refresh = RefreshToken()
    refresh[jwt_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[SESSION_CLAIM] = session_id or uuid.uuid4().hex
    # Recorded with its final claims (simplejwt's for_user records it before `sid` is set).
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[jwt_settings.JTI_CLAIM],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return TokenPair(access_token=str(refresh.access_token), refresh_token=str(refresh))


def _invalid_refresh() -> ApiError:
    return ApiError("Refresh token is invalid or expired.", "token_not_valid", 401)


def _load_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise _invalid_refresh() from exc


def _blacklist(token: RefreshToken) -> bool:
    """Blacklist one refresh token; False when it already was (another request used it)."""
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).first()
    if outstanding is None:
        return False
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate: the old refresh token stops working, the new pair keeps the session id.

    Two requests racing with one token both reach the blacklist insert; its one-to-one
    constraint lets exactly one of them through.
    """
    token = _load_refresh(refresh_token)
    user = User.objects.filter(pk=token.get("user_id")).first()
    if user is None or not user.is_active:
        raise _invalid_refresh()
    with transaction.atomic():
        if not _blacklist(token):
            raise _invalid_refresh()
        return tokens_issue(user=user, session_id=token.get(SESSION_CLAIM))


def token_logout(*, refresh_token: str, ip: str | None = None) -> None:
    """Idempotent: a token already revoked answers as if this call revoked it."""
    try:
        token_backend.decode(refresh_token, verify=True)  # signature and expiry only
        token = RefreshToken(refresh_token, verify=False)
    except (TokenError, TokenBackendError) as exc:
        raise _invalid_refresh() from exc
    if token.get("token_type") != "refresh":
        raise _invalid_refresh()
    _blacklist(token)
    user = User.objects.filter(pk=token.get("user_id")).first()
    if user is not None:
        audit_record(action=AuditAction.LOGOUT, actor=user, target=user, ip=ip)


def tokens_revoke_all(*, user: User, keep_session_id: str | None = None) -> int:
    """Blacklist every outstanding refresh token of `user`, except one session's if given."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = []
    for outstanding in live:
        if keep_session_id:
            claims = jwt.decode(outstanding.token, options={"verify_signature": False})
            if claims.get(SESSION_CLAIM) == keep_session_id:
                continue
        revoked.append(BlacklistedToken(token=outstanding))
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


# --- Login ------------------------------------------------------------------------------------


def _check_mfa(*, user: User, mfa_code: str | None) -> None:
    if not selectors.mfa_enabled(user=user):
        return
    device = selectors.confirmed_totp_device(user=user)
    if device is None:
        return
    if not mfa_code:
        raise ApiError("This account needs its authenticator code.", "mfa_required", 401)
    # django-otp refuses a code already used and slows down repeated failures.
    if not device.verify_token(mfa_code):
        raise ApiError("The authenticator code is not valid.", "mfa_invalid", 401)


def _invalid_credentials() -> ApiError:
    return ApiError("Invalid credentials.", "invalid_credentials", 401)


def _login_failure(*, user: User | None, ip: str | None, reason: Any) -> None:
    audit_record(
        action=AuditAction.LOGIN_FAILURE,
        actor=user,
        target=user,
        ip=ip,
        metadata={"reason": reason},
    )


def _session_start(*, user: User, ip: str | None, action: AuditAction) -> TokenPair:
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        tokens = tokens_issue(user=user)
        audit_record(action=action, actor=user, target=user, ip=ip)
    return tokens


def _check_active_and_mfa(*, user: User, mfa_code: str | None, ip: str | None) -> None:
    """After the first factor: refuse closed accounts, then ask for the TOTP code if on."""
    if not user.is_active:
        _login_failure(user=user, ip=ip, reason="inactive")
        raise ApiError("This account is suspended or closed.", "account_disabled", 403)
    try:
        _check_mfa(user=user, mfa_code=mfa_code)
    except ApiError as exc:
        _login_failure(user=user, ip=ip, reason=exc.get_codes())
        raise


def auth_login(
    *, identifier: str, password: str, mfa_code: str | None = None, ip: str | None = None
) -> tuple[User, TokenPair]:
    """Password login by email or phone.

    An unknown identifier and a wrong password answer the same 401, after the same hashing
    work. A suspended or closed account answers 403 only to someone who knows its password,
    and is never reactivated.
    """
    user = selectors.user_by_identifier(identifier=identifier)
    if user is None:
        User().set_password(password)  # the same hashing work as checking a real password
        _login_failure(user=None, ip=ip, reason="unknown_identifier")
        raise _invalid_credentials()
    if not user.check_password(password):
        _login_failure(user=user, ip=ip, reason="wrong_password")
        raise _invalid_credentials()
    _check_active_and_mfa(user=user, mfa_code=mfa_code, ip=ip)
    return user, _session_start(user=user, ip=ip, action=AuditAction.LOGIN_SUCCESS)


# --- One-time codes ---------------------------------------------------------------------------


def _code_digest(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def code_issue(*, user: User, purpose: CodePurpose) -> str:
    """A fresh 6-digit code; earlier unused codes of the same purpose stop working.

    The code is stored (committed) before the caller sends it, so it always exists by the
    time the member types it in.
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    with transaction.atomic():
        OneTimeCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
            used_at=now
        )
        OneTimeCode.objects.create(
            user=user,
            purpose=purpose,
            code_hash=_code_digest(code),
            expires_at=now + timedelta(seconds=settings.OTP_CODE_TTL_SECONDS),
        )
    return code


def code_consume(*, user: User | None, purpose: CodePurpose, code: str) -> bool:
    """True once for the right code: single use, expiring, at most N tries.

    Each wrong try is committed on its own before the answer goes back. The final update is
    conditional on `used_at IS NULL`, so two requests racing with the right code win once.
    """
    if user is None:
        return False
    now = timezone.now()
    current = (
        OneTimeCode.objects.filter(
            user=user, purpose=purpose, used_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at")
        .first()
    )
    if current is None or current.attempts >= settings.OTP_CODE_MAX_ATTEMPTS:
        return False
    if not hmac.compare_digest(current.code_hash, _code_digest(code.strip())):
        OneTimeCode.objects.filter(pk=current.pk).update(attempts=current.attempts + 1)
        return False
    return bool(OneTimeCode.objects.filter(pk=current.pk, used_at__isnull=True).update(used_at=now))


def _deliver_code(*, user: User, code: str, purpose: CodePurpose, channel: str) -> None:
    minutes = settings.OTP_CODE_TTL_SECONDS // 60
    what = "sign in" if purpose == CodePurpose.LOGIN else "reset your password"
    text = f"{code} is your Aurum code to {what}. It expires in {minutes} minutes. Never share it."
    sender = get_sender()
    if channel == "sms" and user.phone:
        sender.send_sms(phone=user.phone, text=text)
    elif user.email:
        sender.send_email(email=user.email, subject="Your Aurum code", text=text)


def otp_send(*, phone: str) -> None:
    """Send a login code to an existing, active member's phone; silently nothing otherwise."""
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:
        return
    code = code_issue(user=user, purpose=CodePurpose.LOGIN)
    _deliver_code(user=user, code=code, purpose=CodePurpose.LOGIN, channel="sms")


def otp_verify(
    *, phone: str, code: str, mfa_code: str | None = None, ip: str | None = None
) -> tuple[User, TokenPair]:
    user = selectors.user_by_identifier(identifier=phone)
    if user is None or not code_consume(user=user, purpose=CodePurpose.LOGIN, code=code):
        if user is not None:
            _login_failure(user=user, ip=ip, reason="otp_invalid")
        raise ApiError("The code is wrong, used or expired.", "otp_invalid", 401)
    _check_active_and_mfa(user=user, mfa_code=mfa_code, ip=ip)
    return user, _session_start(user=user, ip=ip, action=AuditAction.OTP_LOGIN)


# --- Passwords --------------------------------------------------------------------------------


def password_reset_request(*, identifier: str) -> None:
    """Send a reset code when the identifier names an active account; the caller always says 202."""
    user = selectors.user_by_identifier(identifier=identifier)
    if user is None or not user.is_active:
        return
    code = code_issue(user=user, purpose=CodePurpose.PASSWORD_RESET)
    channel = "email" if looks_like_email(identifier) else "sms"
    _deliver_code(user=user, code=code, purpose=CodePurpose.PASSWORD_RESET, channel=channel)


def password_reset_confirm(
    *, identifier: str, code: str, new_password: str, ip: str | None = None
) -> User:
    user = selectors.user_by_identifier(identifier=identifier)
    if user is not None and (errors := _password_errors(new_password, user)):
        raise serializers.ValidationError({"new_password": errors})
    if user is None or not user.is_active:
        raise ApiError("The code is wrong, used or expired.", "code_invalid", 400)
    if not code_consume(user=user, purpose=CodePurpose.PASSWORD_RESET, code=code):
        raise ApiError("The code is wrong, used or expired.", "code_invalid", 400)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        tokens_revoke_all(user=user)
        audit_record(action=AuditAction.PASSWORD_RESET, actor=user, target=user, ip=ip)
    return user


def password_change(
    *,
    user: User,
    old_password: str,
    new_password: str,
    session_id: str | None = None,
    ip: str | None = None,
) -> None:
    """Change the password; every other session's refresh token stops working."""
    if not user.check_password(old_password):
        raise serializers.ValidationError({"old_password": ["The current password is wrong."]})
    if errors := _password_errors(new_password, user):
        raise serializers.ValidationError({"new_password": errors})
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        revoked = tokens_revoke_all(user=user, keep_session_id=session_id)
        audit_record(
            action=AuditAction.PASSWORD_CHANGE,
            actor=user,
            target=user,
            ip=ip,
            metadata={"sessions_revoked": revoked},
        )


def password_set_by_staff(*, actor: User, user: User, ip: str | None = None) -> None:
    """After an admin set `user`'s password: every session of theirs ends, and it is audited."""
    with transaction.atomic():
        revoked = tokens_revoke_all(user=user)
        audit_record(
            action=AuditAction.PASSWORD_RESET,
            actor=actor,
            target=user,
            ip=ip,
            metadata={"by_staff": True, "sessions_revoked": revoked},
        )


# --- MFA --------------------------------------------------------------------------------------


def mfa_start(*, user: User) -> TOTPDevice:
    """A new unconfirmed TOTP device (replacing any earlier unconfirmed one)."""
    if selectors.mfa_enabled(user=user):
        raise ApiError("MFA is already on. Turn it off first.", "mfa_already_enabled", 409)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Aurum", confirmed=False)


def mfa_confirm(*, user: User, code: str, ip: str | None = None) -> None:
    if selectors.mfa_enabled(user=user):
        raise ApiError("MFA is already on.", "mfa_already_enabled", 409)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise ApiError("Start with GET mfa/qrcode.", "mfa_not_started", 400)
    if not device.verify_token(code):
        raise ApiError("The authenticator code is not valid.", "mfa_invalid", 400)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action=AuditAction.MFA_ENABLED, actor=user, target=user, ip=ip)


def mfa_disable(*, user: User, code: str, password: str, ip: str | None = None) -> None:
    device = selectors.confirmed_totp_device(user=user)
    if device is None:
        raise ApiError("MFA is not on.", "mfa_not_enabled", 400)
    if not user.check_password(password):
        raise ApiError("The password is wrong.", "invalid_password", 400)
    if not device.verify_token(code):
        raise ApiError("The authenticator code is not valid.", "mfa_invalid", 400)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(action=AuditAction.MFA_DISABLED, actor=user, target=user, ip=ip)


# --- Roles and account state ------------------------------------------------------------------


def user_set_role(
    *, actor: User | None, user: User, role: Role | str, ip: str | None = None
) -> User:
    """Change a role; moderators get the Moderators group's admin permissions."""
    role = Role(role)
    old = User.objects.filter(pk=user.pk).values_list("role", flat=True).first()
    with transaction.atomic():
        user.role = role
        user.save(update_fields=["role", "is_superuser", "updated_at"])
        group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
        if role == Role.MODERATOR:
            user.groups.add(group)
        else:
            user.groups.remove(group)
        if old != role:
            audit_record(
                action=AuditAction.ROLE_CHANGE,
                actor=actor,
                target=user,
                ip=ip,
                metadata={"from": old, "to": role.value},
            )
    return user


def user_set_active(
    *, actor: User | None, user: User, active: bool, reason: str = "", ip: str | None = None
) -> User:
    """Suspend or reactivate.

    Suspension revokes every refresh token of the account and closes its open WebSockets;
    access tokens stop working at once too, since authentication refuses inactive users.
    """
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active", "updated_at"])
        if not active:
            tokens_revoke_all(user=user)
            events.send_to_user(user.pk, {"type": "session.revoked"})
        audit_record(
            action=AuditAction.REACTIVATION if active else AuditAction.SUSPENSION,
            actor=actor,
            target=user,
            ip=ip,
            metadata={"reason": reason} if reason else {},
        )
    return user
