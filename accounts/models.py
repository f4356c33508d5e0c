from __future__ import annotations

import secrets
import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Crockford-like: no 0/O, 1/I/L, so a code read aloud over the phone survives.
PROFILE_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PROFILE_CODE_PREFIX = "AU"
PROFILE_CODE_LENGTH = 6


def new_profile_code() -> str:
    body = "".join(secrets.choice(PROFILE_CODE_ALPHABET) for _ in range(PROFILE_CODE_LENGTH))
    return PROFILE_CODE_PREFIX + body


class Role(models.TextChoices):
    USER = "user", "Member"
    MODERATOR = "moderator", "Moderator"
    ADMIN = "admin", "Admin"


STAFF_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})
MODERATORS_GROUP = "Moderators"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self,
        email: str | None = None,
        password: str | None = None,
        *,
        phone: str | None = None,
        **extra: Any,
    ) -> User:
        user = self.model(email=email or None, phone=phone or None, **extra)
        user.set_password(password)
        user.full_clean(exclude=["password", "profile_code"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("first_name", "Admin")
        extra["role"] = Role.ADMIN
        return self.create_user(email=email, password=password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(**{self.model.USERNAME_FIELD: (username or "").lower()})


class User(AbstractBaseUser, PermissionsMixin):
    """A member or a staff account. The role decides staff access; `is_staff` derives from it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    phone = models.CharField(
        max_length=16, unique=True, null=True, blank=True, help_text="E.164, e.g. +919847012345"
    )
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    is_active = models.BooleanField(
        default=True, help_text="False when the account is suspended or closed."
    )
    admin_approved = models.BooleanField(
        default=False, help_text="Set by verification: makes the member visible to others."
    )
    profile_code = models.CharField(max_length=12, unique=True, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the member deleted their account: what stays is anonymous.",
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["first_name"]

    class Meta:
        ordering = ("-date_joined",)
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False)
                | Q(phone__isnull=False)
                | Q(deleted_at__isnull=False),
                name="user_email_or_phone",
            ),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="user_role_valid"
            ),
        ]
        # The few suspended accounts, which the visibility rule leaves out by an anti-join.
        indexes = [
            models.Index(fields=["id"], condition=Q(is_active=False), name="user_inactive_idx")
        ]

    def __str__(self) -> str:
        return f"{self.profile_code} {self.get_full_name()}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower() if self.email else None
        self.phone = self.phone or None
        self.is_superuser = self.role == Role.ADMIN
        while not self.profile_code:
            # About 887 million codes: a clash is rare, and the unique constraint still guards.
            code = new_profile_code()
            if not type(self).objects.filter(profile_code=code).exists():
                self.profile_code = code
        super().save(*args, **kwargs)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_moderator(self) -> bool:
        return self.role in STAFF_ROLES

    def get_username(self) -> str:
        # Phone-only members have no email: authenticator apps and the admin show the phone.
        return self.email or self.phone or self.profile_code

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


class CodePurpose(models.TextChoices):
    LOGIN = "login", "Phone login"
    PASSWORD_RESET = "password_reset", "Password reset"


class OneTimeCode(models.Model):
    """A 6-digit code sent by SMS or email. Only an HMAC of it is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(max_length=20, choices=CodePurpose.choices)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["user", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.user_id}"


class AuditAction(models.TextChoices):
    LOGIN_SUCCESS = "login_success", "Login succeeded"
    LOGIN_FAILURE = "login_failure", "Login failed"
    OTP_LOGIN = "otp_login", "Phone OTP login"
    LOGOUT = "logout", "Logout"
    MFA_ENABLED = "mfa_enabled", "MFA turned on"
    MFA_DISABLED = "mfa_disabled", "MFA turned off"
    PASSWORD_CHANGE = "password_change", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    ROLE_CHANGE = "role_change", "Role changed"
    REGISTER = "register", "Registered"
    VERIFICATION_DECISION = "verification_decision", "Verification decision"
    REPORT_RESOLUTION = "report_resolution", "Report resolved"
    SUSPENSION = "suspension", "Account suspended"
    REACTIVATION = "reactivation", "Account reactivated"
    ACCOUNT_DELETED = "account_deleted", "Account deleted by the member"
    DUTY_REFUSED = "duty_refused", "Refused by separation of staff duties"
    PROFILE_EDITED_BY_STAFF = "profile_edited_by_staff", "Profile edited by staff"


class ImmutableError(Exception):
    pass


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableError("Audit records cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableError("Audit records cannot be deleted.")

    def forget_addresses(self) -> int:
        """The one change audit records take: when a member deletes their account, the
        addresses they acted from go (the records stay, with an anonymous actor)."""
        return super().update(ip=None)


class AuditLog(models.Model):
    """An append-only record of a critical action. Never changed, never deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=140, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["action", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.actor_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("Audit records cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableError("Audit records cannot be deleted.")
