"""The Django admin as moderators and admins use it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts import staff
from accounts.models import AuditAction, AuditLog, Role, User
from accounts.services import audit_record
from accounts.tests.factories import PASSWORD, UserFactory, make_admin, make_moderator
from aurum.errors import Unauthenticated

pytestmark = pytest.mark.django_db


def test_moderator_reads_the_audit_log_but_cannot_change_it(client):
    moderator = make_moderator()
    record = audit_record(action=AuditAction.LOGIN_FAILURE, metadata={"reason": "wrong_password"})
    client.force_login(moderator)

    listing = client.get(reverse("admin:accounts_auditlog_changelist"))
    detail = client.get(reverse("admin:accounts_auditlog_change", args=[record.pk]))
    add = client.get(reverse("admin:accounts_auditlog_add"))
    delete = client.post(
        reverse("admin:accounts_auditlog_delete", args=[record.pk]), {"post": "yes"}
    )

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert b"wrong_password" in detail.content
    assert b'name="_save"' not in detail.content
    assert add.status_code == 403
    assert delete.status_code == 403
    assert AuditLog.objects.filter(pk=record.pk).exists()


def test_even_an_admin_cannot_edit_an_audit_record(client):
    admin = make_admin()
    record = audit_record(action=AuditAction.LOGIN_SUCCESS)
    client.force_login(admin)

    response = client.post(
        reverse("admin:accounts_auditlog_change", args=[record.pk]), {"action": "logout"}
    )

    assert response.status_code == 403
    assert AuditLog.objects.get(pk=record.pk).action == AuditAction.LOGIN_SUCCESS


def test_audit_log_is_searchable_and_filterable(client):
    client.force_login(make_admin())
    member = UserFactory()
    audit_record(action=AuditAction.PASSWORD_CHANGE, actor=member, target=member)

    found = client.get(reverse("admin:accounts_auditlog_changelist"), {"q": member.profile_code})
    filtered = client.get(
        reverse("admin:accounts_auditlog_changelist"), {"action__exact": "password_change"}
    )

    assert member.profile_code.encode() in found.content
    assert member.profile_code.encode() in filtered.content


def test_the_audit_log_names_actor_and_target_and_says_the_rule(
    client, django_assert_max_num_queries
):
    admin = make_admin(first_name="Meera", last_name="Pillai")
    moderator = make_moderator(first_name="Ravi", last_name="Kumar")
    member = UserFactory(first_name="Anjali", last_name="Nair")
    staff.refuse(
        staff.act_problem(actor=moderator, target=admin, change=staff.Change.SUSPEND),
        actor=moderator,
        target=admin,
        change=staff.Change.SUSPEND,
    )
    for _ in range(5):
        audit_record(action=AuditAction.PASSWORD_CHANGE, actor=member, target=member)
    client.force_login(admin)

    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:accounts_auditlog_changelist")).content.decode()
    refusal = AuditLog.objects.get(action=AuditAction.DUTY_REFUSED)
    detail = client.get(reverse("admin:accounts_auditlog_change", args=[refusal.pk]))

    assert f"Ravi Kumar ({moderator.profile_code}, Moderator)" in page
    assert f"Meera Pillai ({admin.profile_code}, Admin)" in page
    assert f"Anjali Nair ({member.profile_code})" in page
    assert "Refused to suspend: moderators act on members only" in page
    assert str(admin.pk) not in re.sub(r'href="[^"]*"', "", page)  # names, not ids
    assert reverse("admin:accounts_user_change", args=[admin.pk]) in page
    assert "Refused to suspend: moderators act on members only" in detail.content.decode()


def test_member_cannot_enter_the_admin(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_moderator_cannot_change_roles(client):
    moderator = make_moderator()
    member = UserFactory()
    client.force_login(moderator)

    response = client.get(reverse("admin:accounts_user_change", args=[member.pk]))

    # Moderators only view accounts; the change form is read-only for them.
    assert response.status_code == 200
    assert b'name="role"' not in response.content


def test_admin_role_change_goes_through_the_service_and_is_audited(client):
    admin = make_admin()
    member = UserFactory(first_name="Devika", last_name="Pillai")
    client.force_login(admin)

    response = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]),
        {
            "first_name": "Devika",
            "last_name": "Pillai",
            "email": member.email,
            "phone": member.phone,
            "role": "moderator",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    member.refresh_from_db()
    assert member.role == Role.MODERATOR
    assert member.groups.filter(name="Moderators").exists()
    record = AuditLog.objects.get(action=AuditAction.ROLE_CHANGE, target_id=str(member.pk))
    assert record.actor == admin


def test_admin_suspend_action_revokes_and_audits(client):
    admin = make_admin()
    member = UserFactory()
    client.force_login(admin)

    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "suspend", "_selected_action": [str(member.pk)]},
    )

    member.refresh_from_db()
    assert member.is_active is False
    assert AuditLog.objects.filter(action=AuditAction.SUSPENSION, target_id=str(member.pk)).exists()


def test_admin_creates_staff_account(client):
    client.force_login(make_admin())

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "newmod@aurum.example",
            "phone": "",
            "first_name": "Nila",
            "last_name": "",
            "role": "moderator",
            "password1": "Onam-sadya-2026!",
        },
    )

    assert response.status_code == 302, response.content[:3000]
    user = User.objects.get(email="newmod@aurum.example")
    assert user.role == Role.MODERATOR and user.check_password("Onam-sadya-2026!")


@pytest.fixture
def admin_requires_mfa(settings):
    settings.AURUM_ADMIN_REQUIRE_MFA = True


def test_admin_needs_a_totp_device_when_required(client, admin_requires_mfa):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    moderator = make_moderator(email="mod@aurum.example")
    without_code = client.post(
        reverse("admin:login"), {"username": "mod@aurum.example", "password": PASSWORD}
    )
    assert without_code.status_code == 200  # the form again, with an error
    assert client.get(reverse("admin:index")).status_code == 302

    device = TOTPDevice.objects.create(user=moderator, name="phone", confirmed=True)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, 0):06d}"
    with_code = client.post(
        reverse("admin:login"),
        {
            "username": "mod@aurum.example",
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": code,
        },
    )

    assert with_code.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def admin_login(client, username, password, **extra):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, **extra}
    )


def test_staff_without_a_device_sign_in_with_password_when_mfa_is_not_required(client):
    make_moderator(email="mod@aurum.example")

    response = admin_login(client, "mod@aurum.example", PASSWORD)

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    record = AuditLog.objects.get(action=AuditAction.LOGIN_SUCCESS)
    assert record.metadata == {"via": "admin"}


def test_staff_with_a_device_always_need_the_code(client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    moderator = make_moderator(email="mod@aurum.example")
    TOTPDevice.objects.create(user=moderator, name="phone", confirmed=True)

    admin_login(client, "mod@aurum.example", PASSWORD)

    assert client.get(reverse("admin:index")).status_code == 302
    assert AuditLog.objects.filter(
        action=AuditAction.LOGIN_FAILURE, metadata__reason="mfa_invalid"
    ).exists()


def test_admin_login_failures_are_audited_and_rate_limited(client, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "login_identifier": "3/15m"}
    moderator = make_moderator(email="mod@aurum.example")

    for _ in range(3):
        admin_login(client, "mod@aurum.example", "wrong-password-x")
    blocked = admin_login(client, "mod@aurum.example", PASSWORD)

    assert b"Too many attempts" in blocked.content
    assert client.get(reverse("admin:index")).status_code == 302
    failures = AuditLog.objects.filter(action=AuditAction.LOGIN_FAILURE, actor=moderator)
    assert failures.count() == 3
    assert all(f.metadata == {"reason": "wrong_password", "via": "admin"} for f in failures)


def test_spellings_of_an_unknown_name_share_one_admin_login_limit(client, settings):
    # The admin's form counts accounts as the API's login does (accounts.selectors.account_key).
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "login_identifier": "3/15m"}

    for spelling in ("no-such-staff", "NO-SUCH-STAFF", " No-Such-Staff "):
        admin_login(client, spelling, "wrong-password-x")
    blocked = admin_login(client, "no-such-staff", "wrong-password-x")

    assert b"Too many attempts" in blocked.content


def test_admin_shows_no_session_tokens():
    from django.contrib import admin
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    assert not admin.site.is_registered(OutstandingToken)


def test_admin_hides_totp_secrets(client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(make_admin())
    device = TOTPDevice.objects.create(user=UserFactory(), name="phone", confirmed=True)

    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))

    assert page.status_code == 200
    assert device.key.encode() not in page.content


def test_admin_creating_an_account_with_a_weak_password_shows_the_error(client):
    client.force_login(make_admin())

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new@aurum.example", "first_name": "N", "role": "user", "password1": "123"},
    )

    assert response.status_code == 200
    assert b"too short" in response.content or b"too common" in response.content
    assert not User.objects.filter(email="new@aurum.example").exists()


def test_admin_login_with_mfa_requirement_asks_for_a_code(client, admin_requires_mfa):
    page = client.get(reverse("admin:login"))

    assert b'name="otp_token"' in page.content


def test_own_password_change_in_admin_is_audited_and_ends_other_sessions(client):
    from accounts.services import token_refresh, tokens_issue

    moderator = make_moderator()
    app_session = tokens_issue(user=moderator)
    client.force_login(moderator)

    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Kathakali-night-2026",
            "new_password2": "Kathakali-night-2026",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:password_change_done")
    moderator.refresh_from_db()
    assert moderator.check_password("Kathakali-night-2026")
    assert AuditLog.objects.filter(action=AuditAction.PASSWORD_CHANGE, actor=moderator).exists()
    with pytest.raises(Unauthenticated) as revoked:
        token_refresh(refresh_token=app_session.refresh_token)
    assert isinstance(revoked.value, Unauthenticated)
    assert client.get(reverse("admin:index")).status_code == 200  # still signed in here


def test_admin_setting_a_members_password_ends_their_sessions(client):
    from accounts.services import token_refresh, tokens_issue

    admin_user = make_admin()
    member = UserFactory()
    session = tokens_issue(user=member)
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[member.pk]),
        {"password1": "Kathakali-night-2026", "password2": "Kathakali-night-2026"},
    )

    assert response.status_code == 302, response.content[:2000]
    member.refresh_from_db()
    assert member.check_password("Kathakali-night-2026")
    record = AuditLog.objects.get(action=AuditAction.PASSWORD_RESET, target_id=str(member.pk))
    assert record.actor == admin_user and record.metadata["by_staff"] is True
    with pytest.raises(Unauthenticated) as revoked:
        token_refresh(refresh_token=session.refresh_token)
    assert isinstance(revoked.value, Unauthenticated)


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_moderator_logs_into_admin_and_reads_audit_log_in_browser(
    live_server, browser, csp_violations
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    make_moderator(email="meera@aurum.example")
    member = UserFactory()
    audit_record(action=AuditAction.PASSWORD_CHANGE, actor=member, target=member)

    browser.get(f"{live_server.url}/admin/login/")
    assert csp_violations() == []
    browser.find_element(By.NAME, "username").send_keys("meera@aurum.example")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: "/admin/login/" not in b.current_url)
    assert "Verification, reports and members" in browser.page_source  # the index, signed in
    assert csp_violations() == []  # the console's numbers and chart included

    browser.get(f"{live_server.url}/admin/accounts/auditlog/")
    assert member.profile_code in browser.page_source
    assert "Add audit log" not in browser.page_source
    # The admin's stylesheet arrived: the page is styled, not bare HTML.
    header = browser.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") not in {"rgba(0, 0, 0, 0)", ""}
    # A change form and a filtered, searched list: the admin's scripts ran, nothing refused.
    browser.get(f"{live_server.url}/admin/accounts/auditlog/?q={member.profile_code}")
    assert member.profile_code in browser.page_source
    browser.get(f"{live_server.url}/admin/accounts/user/{member.pk}/change/")
    WebDriverWait(browser, 15).until(lambda b: b.execute_script("return !!window.django"))
    assert csp_violations() == []


def test_not_even_an_admin_deletes_an_account_row_in_the_admin(client):
    """Deleting the row would skip erasure; the admin offers suspension instead."""
    admin_user = make_admin()
    member = UserFactory()
    client.force_login(admin_user)
    page = client.get(reverse("admin:accounts_user_delete", args=[member.pk]))
    bulk = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [member.pk]},
    )
    assert page.status_code == 403
    assert bulk.status_code in (200, 302) and User.objects.filter(pk=member.pk).exists()
