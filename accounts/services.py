"""Identity: registration, login, tokens, one-time codes, MFA, roles and the audit log."""

from __future__ import annotations

import copy
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
from django.db.models import F, Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import privacy, selectors, staff
from accounts.audit import audit_record
from accounts.authentication import METHODS_CLAIM, MFA_METHOD, SESSION_CLAIM, sessions_revoke
from accounts.models import (
    MODERATORS_GROUP,
    AuditAction,
    CodePurpose,
    OneTimeCode,
    Role,
    User,
)
from accounts.phone import looks_like_email
from accounts.signals import account_closed, session_activity
from aurum import events
from aurum.errors import Conflict, DomainError, Forbidden, Invalid, Unauthenticated
from deliveries import services as deliveries

__all__ = ["SESSION_CLAIM", "TokenPair", "audit_record"]


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
        raise Invalid(fields={"password": errors})
    _ensure_identifiers_free(email=email, phone=phone)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            if audit:
                audit_record(action=AuditAction.REGISTER, actor=user, target=user, ip=ip)
    except IntegrityError as exc:
        raise Conflict(
            "An account with this email or phone already exists.",
            "duplicate",
        ) from exc
    return user


def _ensure_identifiers_free(*, email: str | None, phone: str | None) -> None:
    if email and User.objects.filter(email=email).exists():
        raise Conflict("An account with this email already exists.", "duplicate_email")
    if phone and User.objects.filter(phone=phone).exists():
        raise Conflict("An account with this phone already exists.", "duplicate_phone")


# --- Tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


def tokens_issue(
    *, user: User, session_id: str | None = None, methods: list[str] | None = None
) -> TokenPair:
    """A new access + refresh pair. Pairs of one login share a session id (claim `sid`) and
    how that login was made (claim `amr`: "pwd", "sms", "otp"), which refreshing keeps."""
    refresh = RefreshToken()
    refresh[jwt_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[SESSION_CLAIM] = session_id or uuid.uuid4().hex
    refresh[METHODS_CLAIM] = list(methods or ["pwd"])
    # Recorded with its final claims (simplejwt's for_user records it before `sid` is set).
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[jwt_settings.JTI_CLAIM],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return TokenPair(access_token=str(refresh.access_token), refresh_token=str(refresh))


def _invalid_refresh() -> DomainError:
    return Unauthenticated("Refresh token is invalid or expired.", "token_not_valid")


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
    constraint lets exactly one of them through. A token used a second time means it was
    copied: that whole session (every token with its `sid`) is revoked.
    """
    try:
        token = RefreshToken(refresh_token)
    except TokenError as exc:
        _revoke_reused_session(refresh_token)
        raise _invalid_refresh() from exc
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise _invalid_refresh()
    with transaction.atomic():
        if not _blacklist(token):
            raise _invalid_refresh()
        tokens = tokens_issue(
            user=user, session_id=token.get(SESSION_CLAIM), methods=token.get(METHODS_CLAIM)
        )
    session_activity.send(sender=User, user_id=user.pk)
    return tokens


def _revoke_reused_session(raw: str) -> None:
    try:
        claims = token_backend.decode(raw, verify=True)  # genuine and unexpired, yet refused
    except TokenBackendError:
        return
    user = User.objects.filter(pk=claims.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is not None and claims.get(SESSION_CLAIM) and claims.get("token_type") == "refresh":
        tokens_revoke_all(user=user, only_session_id=claims[SESSION_CLAIM])


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
    _sessions_end(token.get("user_id"), {token.get(SESSION_CLAIM)})
    user = User.objects.filter(pk=token.get("user_id")).first()
    if user is not None:
        audit_record(action=AuditAction.LOGOUT, actor=user, target=user, ip=ip)


def _sessions_end(user_id: Any, sessions: set[Any]) -> None:
    """Ended sessions: their access tokens are refused from now on, and their sockets close.
    Marked now, not on commit: a rollback leaves the refresh tokens live, and the app's next
    refresh gives the session a new access token."""
    ended = sorted(str(sid) for sid in sessions if sid)
    if ended:
        sessions_revoke(ended)
        events.send_to_user(user_id, {"type": "session.revoked", "sessions": ended})


def tokens_revoke_all(
    *, user: User, keep_session_id: str | None = None, only_session_id: str | None = None
) -> int:
    """End sessions of `user`: all, all but one, or one. Their live refresh tokens are
    blacklisted and their access tokens refused from now on (accounts.authentication).
    Returns how many refresh tokens were revoked."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked, sessions = [], set()
    for outstanding in live:
        claims = jwt.decode(outstanding.token, options={"verify_signature": False})
        session = claims.get(SESSION_CLAIM)
        if keep_session_id and session == keep_session_id:
            continue
        if only_session_id and session != only_session_id:
            continue
        revoked.append(BlacklistedToken(token=outstanding))
        sessions.add(session)
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    if only_session_id:
        sessions.add(only_session_id)
    _sessions_end(user.pk, sessions)
    return len(revoked)


def _end_other_sessions(
    *, user: User, keep_session_id: str | None, action: AuditAction, ip: str | None
) -> None:
    """After a change that makes older sessions suspect: they end, and the record says so."""
    revoked = tokens_revoke_all(user=user, keep_session_id=keep_session_id)
    audit_record(
        action=action, actor=user, target=user, ip=ip, metadata={"sessions_revoked": revoked}
    )


# --- Login ------------------------------------------------------------------------------------


def _check_mfa(*, user: User, mfa_code: str | None) -> bool:
    """True when the account has MFA on and `mfa_code` is its current code; False when MFA
    is off. A missing or wrong code raises."""
    if not selectors.mfa_enabled(user=user):
        return False
    device = selectors.confirmed_totp_device(user=user)
    if device is None:
        return False
    if not mfa_code:
        raise Unauthenticated("This account needs its authenticator code.", "mfa_required")
    # django-otp refuses a code already used and slows down repeated failures.
    if not device.verify_token(mfa_code):
        raise Unauthenticated("The authenticator code is not valid.", "mfa_invalid")
    return True


def _invalid_credentials() -> DomainError:
    return Unauthenticated("Invalid credentials.", "invalid_credentials")


def _login_failure(*, user: User | None, ip: str | None, reason: Any) -> None:
    audit_record(
        action=AuditAction.LOGIN_FAILURE,
        actor=user,
        target=user,
        ip=ip,
        metadata={"reason": reason},
    )


def _session_start(
    *, user: User, ip: str | None, action: AuditAction, methods: list[str]
) -> TokenPair:
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        tokens = tokens_issue(user=user, methods=methods)
        audit_record(action=action, actor=user, target=user, ip=ip)
    session_activity.send(sender=User, user_id=user.pk)
    return tokens


def _check_active_and_mfa(
    *, user: User, mfa_code: str | None, ip: str | None, first: str
) -> list[str]:
    """After the first factor: refuse closed accounts, then ask for the TOTP code if on.
    Returns the session's methods (`amr`): the first factor, and "otp" after a TOTP code."""
    if not user.is_active:
        _login_failure(user=user, ip=ip, reason="inactive")
        raise Forbidden("This account is suspended or closed.", "account_disabled")
    try:
        used = _check_mfa(user=user, mfa_code=mfa_code)
    except DomainError as exc:
        _login_failure(user=user, ip=ip, reason=exc.code)
        raise
    return [first, MFA_METHOD] if used else [first]


def auth_login(
    *,
    user: User | None,
    password: str,
    mfa_code: str | None = None,
    ip: str | None = None,
) -> TokenPair:
    """Password login for the account the identifier named (None: no such account).

    An unknown identifier and a wrong password answer the same 401, after the same hashing
    work. A suspended or closed account answers 403 only to someone who knows its password,
    and is never reactivated.
    """
    if not selectors.password_matches(user, password):
        reason = "unknown_identifier" if user is None else "wrong_password"
        _login_failure(user=user, ip=ip, reason=reason)
        raise _invalid_credentials()
    assert user is not None
    methods = _check_active_and_mfa(user=user, mfa_code=mfa_code, ip=ip, first="pwd")
    return _session_start(user=user, ip=ip, action=AuditAction.LOGIN_SUCCESS, methods=methods)


# --- One-time codes ---------------------------------------------------------------------------


def _code_digest(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def code_issue(*, user: User, purpose: CodePurpose, channel: str | None = None) -> str:
    """A fresh 6-digit code; earlier unused codes of the same purpose stop working.

    With a `channel` ("sms" or "email") the code's delivery is written in the same transaction
    as the code, and sent after commit: the code always exists by the time the member types it
    in, and a crash or a provider outage cannot lose the message (deliveries retries it).
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    with transaction.atomic():
        live = OneTimeCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True)
        replaced = list(live.values_list("pk", flat=True))
        if replaced:
            live.update(used_at=now)
            # Their messages, if still unsent (an outage), would only carry dead codes.
            deliveries.cancel(
                keys=[f"code:{pk}" for pk in replaced], why="a newer code replaced it"
            )
        row = OneTimeCode.objects.create(
            user=user,
            purpose=purpose,
            code_hash=_code_digest(code),
            expires_at=now + timedelta(seconds=settings.OTP_CODE_TTL_SECONDS),
        )
        if channel is not None:
            _queue_code(user=user, code=code, row=row, channel=channel)
    return code


def code_check(*, user: User | None, purpose: CodePurpose, code: str) -> OneTimeCode | None:
    """The live code `code` matches, or None. A wrong try is counted and committed at once.

    The count is one conditional UPDATE (`attempts < max`), so parallel guesses on several
    workers cannot get past the limit between a read and a write.
    """
    if user is None:
        return None
    current = (
        OneTimeCode.objects.filter(
            user=user, purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    if current is None:
        return None
    counted = OneTimeCode.objects.filter(
        pk=current.pk, attempts__lt=settings.OTP_CODE_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        return None  # out of tries
    if not hmac.compare_digest(current.code_hash, _code_digest(code.strip())):
        return None
    return current


def code_consume(*, code: OneTimeCode) -> bool:
    """Mark a checked code used. Conditional on `used_at IS NULL`: racing requests win once."""
    return bool(
        OneTimeCode.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now())
    )


_CODE_LABELS = {CodePurpose.LOGIN: "Login code", CodePurpose.PASSWORD_RESET: "Password reset code"}


def _queue_code(*, user: User, code: str, row: OneTimeCode, channel: str) -> None:
    minutes = settings.OTP_CODE_TTL_SECONDS // 60
    purpose = CodePurpose(row.purpose)
    what = "sign in" if purpose == CodePurpose.LOGIN else "reset your password"
    text = f"{code} is your Aurum code to {what}. It expires in {minutes} minutes. Never share it."
    to = user.phone if channel == "sms" and user.phone else user.email
    if not to:
        return
    deliveries.queue(
        channel="sms" if to == user.phone else "email",
        to=to,
        template=f"code.{purpose.value}",
        label=_CODE_LABELS[purpose],
        key=f"code:{row.pk}",
        user=user,
        subject="Your Aurum code",
        text=text,
        urgent=True,
        expires_at=row.expires_at,
        fresh=True,
    )


def otp_send(*, phone: str) -> None:
    """Send a login code to an existing, active member's phone; silently nothing otherwise."""
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:
        return
    code_issue(user=user, purpose=CodePurpose.LOGIN, channel="sms")


def otp_verify(
    *, phone: str, code: str, mfa_code: str | None = None, ip: str | None = None
) -> tuple[User, TokenPair]:
    """Phone login. The code is used up only by a login that succeeds, so a member asked for
    the authenticator code can retry with both without a new SMS."""
    user = selectors.user_by_identifier(identifier=phone)
    checked = code_check(user=user, purpose=CodePurpose.LOGIN, code=code)
    if user is None or checked is None:
        if user is not None:
            _login_failure(user=user, ip=ip, reason="otp_invalid")
        raise _invalid_otp()
    methods = _check_active_and_mfa(user=user, mfa_code=mfa_code, ip=ip, first="sms")
    if not code_consume(code=checked):
        raise _invalid_otp()
    return user, _session_start(user=user, ip=ip, action=AuditAction.OTP_LOGIN, methods=methods)


def _invalid_otp() -> DomainError:
    return Unauthenticated("The code is wrong, used or expired.", "otp_invalid")


# --- Passwords --------------------------------------------------------------------------------


def password_reset_request(*, identifier: str) -> None:
    """Send a reset code when the identifier names an active account; the caller always says 202."""
    user = selectors.user_by_identifier(identifier=identifier)
    if user is None or not user.is_active:
        return
    channel = "email" if looks_like_email(identifier) else "sms"
    code_issue(user=user, purpose=CodePurpose.PASSWORD_RESET, channel=channel)


def password_reset_confirm(
    *, user: User | None, code: str, new_password: str, ip: str | None = None
) -> User:
    """Set a new password with a reset code.

    The code is checked before the password, so the password's faults are only ever shown to
    someone holding a valid code: an unknown account and a wrong code answer alike.
    """
    checked = None
    if user is not None and user.is_active:
        checked = code_check(user=user, purpose=CodePurpose.PASSWORD_RESET, code=code)
    if user is None or checked is None:
        raise Invalid("The code is wrong, used or expired.", "code_invalid")
    if errors := _password_errors(new_password, user):
        raise Invalid(fields={"new_password": errors})
    with transaction.atomic():
        if not code_consume(code=checked):
            raise Invalid("The code is wrong, used or expired.", "code_invalid")
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
        raise Invalid(fields={"old_password": ["The current password is wrong."]})
    if errors := _password_errors(new_password, user):
        raise Invalid(fields={"new_password": errors})
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        _end_other_sessions(
            user=user, keep_session_id=session_id, action=AuditAction.PASSWORD_CHANGE, ip=ip
        )


def reauthenticate(*, user: User, password: str, mfa_code: str | None = None) -> None:
    """Recent authentication, for what a stolen access token alone must not do (turn MFA on,
    export the member's data, delete the account): the password, and the authenticator code
    when MFA is on. Callers rate-limit the guesses per account."""
    if not user.check_password(password):
        raise Invalid(fields={"password": ["The password is wrong."]})
    _check_mfa(user=user, mfa_code=mfa_code)


def account_delete(*, user: User, password: str, mfa_code: str | None = None) -> None:
    """The member deletes their account (`accounts.privacy.member_erase`), having proved it is
    them (`reauthenticate`). Staff accounts are closed by an admin instead."""
    if user.is_staff:
        raise Forbidden("Staff accounts are closed by an admin.", "staff_account")
    reauthenticate(user=user, password=password, mfa_code=mfa_code)
    privacy.member_erase(user)


def account_export(*, user: User, password: str, mfa_code: str | None = None) -> dict[str, Any]:
    """A copy of everything Aurum holds on the member, for the member who proved it is them."""
    reauthenticate(user=user, password=password, mfa_code=mfa_code)
    return privacy.member_export(user)


def password_set_by_staff_problem(*, actor: User, user: User) -> DomainError | None:
    """Asked before an admin's form sets someone's password (accounts.staff's rule)."""
    return staff.act_problem(actor=actor, target=user, change=staff.Change.PASSWORD)


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
        raise Conflict("MFA is already on. Turn it off first.", "mfa_already_enabled")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Aurum", confirmed=False)


def mfa_confirm(*, user: User, code: str, password: str, ip: str | None = None) -> None:
    """Turn MFA on, with the password (a stolen access token alone cannot) and the new
    device's code. No session ends: ending them let a thief with a token lock the member out;
    a member who suspects one changes the password, which ends the others."""
    if selectors.mfa_enabled(user=user):
        raise Conflict("MFA is already on.", "mfa_already_enabled")
    if not user.check_password(password):
        raise Invalid(fields={"password": ["The password is wrong."]})
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise Invalid("Start with GET mfa/qrcode.", "mfa_not_started")
    if not device.verify_token(code):
        raise Invalid("The authenticator code is not valid.", "mfa_invalid")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action=AuditAction.MFA_ENABLED, actor=user, target=user, ip=ip)


def mfa_disable(*, user: User, code: str, password: str, ip: str | None = None) -> None:
    device = selectors.confirmed_totp_device(user=user)
    if device is None:
        raise Invalid("MFA is not on.", "mfa_not_enabled")
    if not user.check_password(password):
        raise Invalid("The password is wrong.", "invalid_password")
    if not device.verify_token(code):
        raise Invalid("The authenticator code is not valid.", "mfa_invalid")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(action=AuditAction.MFA_DISABLED, actor=user, target=user, ip=ip)


# --- Roles and account state ------------------------------------------------------------------


def _locked_for_staff_change(*, actor: User | None, user: User) -> tuple[User, User | None]:
    """Lock the target's row, the actor's and every active admin's, in primary-key order, and
    return the target and the actor as stored. accounts.staff's rules then read what is
    locked: two changes at once (the last two admins demoting each other) are decided one
    after the other, the second seeing the first. PostgreSQL re-reads a row it waited for,
    so an admin demoted meanwhile drops out of the set. Inside the caller's transaction.

    NO KEY UPDATE, as the change writes no key: rows that point at these accounts (a
    notification, an audit record, a message) may still be written meanwhile."""
    ids = [user.pk] if actor is None else [user.pk, actor.pk]
    rows = {
        row.pk: row
        for row in User.objects.select_for_update(no_key=True)
        .filter(Q(pk__in=ids) | Q(role=Role.ADMIN, is_active=True))
        .order_by("pk")
    }
    stored_actor = actor
    if actor is not None and actor.pk in rows:
        # A copy keeps what the request set on the actor (its MFA state); role and state are
        # the row's.
        stored_actor = copy.copy(actor)
        stored_actor.role = rows[actor.pk].role
        stored_actor.is_active = rows[actor.pk].is_active
    return rows[user.pk], stored_actor


def user_set_role(
    *, actor: User | None, user: User, role: Role | str, ip: str | None = None
) -> User:
    """Change a role; moderators get the Moderators group's admin permissions. Only an admin
    changes a role, never their own, and never the last active admin's (accounts.staff),
    decided on the locked rows (`_locked_for_staff_change`). A refusal is audited after the
    transaction, so that its record stays."""
    role = Role(role)
    problem = None
    with transaction.atomic():
        before, stored_actor = _locked_for_staff_change(actor=actor, user=user)
        old = before.role
        if old != role:
            problem = staff.act_problem(
                actor=stored_actor, target=before, change=staff.Change.ROLE, new_role=role
            )
        if problem is None:
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
    if problem is not None:
        raise staff.refuse(problem, actor=actor, target=before, change=staff.Change.ROLE, ip=ip)
    return user


def user_set_approved(*, user: User, approved: bool) -> User:
    """`admin_approved` is what makes a member visible; onboarding's decision sets it."""
    if user.admin_approved != approved:
        user.admin_approved = approved
        user.save(update_fields=["admin_approved", "updated_at"])
    return user


def user_set_active(
    *, actor: User | None, user: User, active: bool, reason: str = "", ip: str | None = None
) -> User:
    """Suspend or reactivate, decided on the locked rows as `user_set_role` is. Every
    suspension comes here: the admin's action and form, and a report resolved with a
    suspension.

    Suspension revokes every refresh token of the account and closes its open WebSockets;
    access tokens stop working at once too, since authentication refuses inactive users.
    Other apps hear `account_closed`: chat ends its calls, notifications forgets its phones,
    matching drops every cached feed.
    """
    change = staff.Change.REACTIVATE if active else staff.Change.SUSPEND
    problem = None
    with transaction.atomic():
        before, stored_actor = _locked_for_staff_change(actor=actor, user=user)
        if active and before.deleted_at is not None:
            raise Conflict("This account was deleted by its member.", "account_deleted")
        problem = staff.act_problem(actor=stored_actor, target=before, change=change)
        if problem is None:
            user.is_active = active
            user.save(update_fields=["is_active", "updated_at"])
            if not active:
                account_closed.send(sender=User, user=user, why="suspended")
                tokens_revoke_all(user=user)
                events.send_to_user(user.pk, {"type": "session.revoked"})
            audit_record(
                action=AuditAction.REACTIVATION if active else AuditAction.SUSPENSION,
                actor=actor,
                target=user,
                ip=ip,
                metadata={"reason": reason} if reason else {},
            )
    if problem is not None:
        raise staff.refuse(problem, actor=actor, target=before, change=change, ip=ip)
    return user


# --- Housekeeping (scheduled: accounts.tasks) -------------------------------------------------


def codes_purge() -> int:
    """One-time codes past their expiry (or used) for a day are of no use to anyone."""
    cutoff = timezone.now() - timedelta(days=1)
    return OneTimeCode.objects.filter(expires_at__lt=cutoff).delete()[0]


def tokens_purge() -> int:
    """Refresh tokens past their expiry, with their blacklist rows: an expired token is refused
    for its expiry alone, so its row guards nothing (simplejwt's `flushexpiredtokens`)."""
    return OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()[0]
