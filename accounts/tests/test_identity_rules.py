"""Model-level rules: audit immutability, roles, hashing, profile codes, createsuperuser."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher, make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import IntegrityError, transaction

from accounts import services
from accounts.hashers import Argon2idOwaspHasher
from accounts.models import (
    MODERATORS_GROUP,
    PROFILE_CODE_ALPHABET,
    AuditAction,
    AuditLog,
    ImmutableError,
    Role,
    User,
)
from accounts.tests.factories import UserFactory, make_admin, make_moderator

pytestmark = pytest.mark.django_db


def test_audit_record_cannot_be_changed_or_deleted():
    record = services.audit_record(action=AuditAction.LOGIN_SUCCESS, metadata={"a": 1})

    record.metadata = {"a": 2}
    with pytest.raises(ImmutableError):
        record.save()
    with pytest.raises(ImmutableError):
        record.delete()
    with pytest.raises(ImmutableError):
        AuditLog.objects.filter(pk=record.pk).update(action=AuditAction.LOGOUT)
    with pytest.raises(ImmutableError):
        AuditLog.objects.all().delete()
    assert AuditLog.objects.get(pk=record.pk).metadata == {"a": 1}


def test_audit_actor_label_names_no_personal_data():
    user = UserFactory(first_name="Anjali")

    record = services.audit_record(action=AuditAction.LOGIN_SUCCESS, actor=user, target=user)

    assert record.actor_label == f"{user.profile_code} (user)"
    assert record.target_type == "accounts.user"
    assert record.target_id == str(user.pk)


def test_role_change_sets_staff_access_group_and_audit():
    admin = make_admin()
    user = UserFactory()

    services.user_set_role(actor=admin, user=user, role=Role.MODERATOR, ip="10.0.0.1")
    user.refresh_from_db()

    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name=MODERATORS_GROUP).exists()
    assert user.has_perm("accounts.view_auditlog")
    assert not user.has_perm("accounts.change_user")
    record = AuditLog.objects.get(action=AuditAction.ROLE_CHANGE, target_id=str(user.pk))
    assert record.metadata == {"from": "user", "to": "moderator"}
    assert record.actor == admin and record.ip == "10.0.0.1"

    services.user_set_role(actor=admin, user=user, role=Role.USER)
    user = User.objects.get(pk=user.pk)
    assert not user.is_staff
    assert not user.groups.exists()
    assert not user.has_perm("accounts.view_auditlog")


def test_admin_role_is_superuser():
    admin = make_admin()

    assert admin.is_staff and admin.is_superuser
    assert admin.has_perm("accounts.change_user")


def test_member_is_not_staff():
    user = UserFactory()

    assert not user.is_staff and not user.is_superuser


def test_account_needs_email_or_phone():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(first_name="Nobody", email=None, phone=None)


def test_role_must_be_known():
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(role="superhero")


def test_profile_codes_are_unique_and_unambiguous():
    codes = {UserFactory().profile_code for _ in range(50)}

    assert len(codes) == 50
    for code in codes:
        assert code.startswith("AU") and len(code) == 8
        assert set(code[2:]) <= set(PROFILE_CODE_ALPHABET)
        assert not set(code[2:]) & set("01OIL")


def test_createsuperuser_makes_an_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Thrissur-Pooram-2026")

    call_command(
        "createsuperuser", "--noinput", "--email", "Root@Example.com", "--first_name", "Root"
    )

    user = User.objects.get(email="root@example.com")
    assert user.role == Role.ADMIN and user.is_superuser and user.is_staff
    assert user.check_password("Thrissur-Pooram-2026")


def test_production_hasher_is_argon2id_with_owasp_parameters(settings):
    from aurum import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    hasher = get_hasher("default")

    encoded = make_password("Backwaters-and-monsoon-9")

    assert isinstance(hasher, Argon2idOwaspHasher)
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify("Backwaters-and-monsoon-9", encoded)


def test_hashes_with_djangos_default_parameters_verify_and_get_upgraded(settings):
    from aurum import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    old = Argon2PasswordHasher().encode("Backwaters-and-monsoon-9", "saltsaltsaltsalt")
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password=old)
    user.refresh_from_db()

    assert user.check_password("Backwaters-and-monsoon-9")  # verifies, then re-hashes

    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password


def test_moderators_group_gets_permissions_after_migrate():
    group = Group.objects.get(name=MODERATORS_GROUP)

    codenames = set(group.permissions.values_list("codename", flat=True))

    assert {"view_user", "view_auditlog"} <= codenames
    assert "delete_user" not in codenames


def test_moderator_factory_has_group():
    moderator = make_moderator()

    assert moderator.groups.filter(name=MODERATORS_GROUP).exists()
