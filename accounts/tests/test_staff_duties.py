"""Separation of staff duties (accounts.staff) in the services and the admin console: who may
change whose account, and every refusal audited."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import AuditAction, AuditLog, Role, User
from accounts.tests.factories import UserFactory, make_admin, make_moderator
from aurum.errors import DomainError
from moderation.models import Report, ReportStatus
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def refusals(actor: User) -> list[tuple[str, str]]:
    rows = AuditLog.objects.filter(action=AuditAction.DUTY_REFUSED, actor=actor)
    return sorted((r.metadata["rule"], r.metadata["change"]) for r in rows)


def refused_with(code: str, call, *args, **kwargs) -> None:
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    assert refused.value.code == code


def test_a_moderator_suspends_a_member_but_never_staff():
    moderator, admin, member = make_moderator(), make_admin(), UserFactory()

    refused_with(
        "staff_target", services.user_set_active, actor=moderator, user=admin, active=False
    )
    services.user_set_active(actor=moderator, user=member, active=False)

    assert User.objects.get(pk=admin.pk).is_active
    assert not User.objects.get(pk=member.pk).is_active
    assert refusals(moderator) == [("staff_target", "suspend")]


def test_only_an_admin_changes_roles():
    moderator, member = make_moderator(), UserFactory()

    refused_with(
        "admin_only", services.user_set_role, actor=moderator, user=member, role=Role.MODERATOR
    )

    assert User.objects.get(pk=member.pk).role == Role.USER
    assert refusals(moderator) == [("admin_only", "role")]


def test_an_admin_never_changes_their_own_account():
    admin, _other = make_admin(), make_admin()

    refused_with("own_account", services.user_set_role, actor=admin, user=admin, role=Role.USER)
    refused_with("own_account", services.user_set_active, actor=admin, user=admin, active=False)

    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active
    assert refusals(admin) == [("own_account", "role"), ("own_account", "suspend")]


def test_an_admin_changes_another_staff_account():
    admin, moderator = make_admin(), make_moderator()

    services.user_set_role(actor=admin, user=moderator, role=Role.USER)
    services.user_set_active(actor=admin, user=moderator, active=False)

    moderator.refresh_from_db()
    assert moderator.role == Role.USER and not moderator.is_active


def test_the_last_active_admin_is_never_suspended_or_demoted():
    """Not even from manage.py (actor None): the platform keeps an admin."""
    admin = make_admin()
    make_admin(is_active=False)  # a suspended admin does not count

    refused_with("last_admin", services.user_set_role, actor=None, user=admin, role=Role.USER)
    refused_with("last_admin", services.user_set_active, actor=None, user=admin, active=False)

    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active


def test_an_admin_is_demoted_while_another_remains():
    admin, _other = make_admin(), make_admin()

    services.user_set_role(actor=None, user=admin, role=Role.MODERATOR)

    assert User.objects.get(pk=admin.pk).role == Role.MODERATOR


def _at_once(*calls) -> list[str]:
    """Run each call in its own thread and connection, all released together; what each
    ended in ("done" or the refusal's code), "done" first."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def go(call) -> None:
        barrier.wait()
        try:
            call()
            outcomes.append("done")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes, key=lambda outcome: outcome != "done")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "by", "refusal"),
    [
        ("demote", "each_other", "admin_only"),  # the second actor is no longer an admin
        ("suspend", "each_other", "permission_denied"),  # nor active staff
        ("demote", "manage_py", "last_admin"),
        ("suspend", "manage_py", "last_admin"),
    ],
)
def test_the_last_two_admins_changed_at_once_leave_one_admin(change, by, refusal):
    """The rules read the rows as locked, not as read before the change: one of two changes
    at once goes through, the other sees it (the actor's role and state, the admins left)."""
    first, second = make_admin(), make_admin()

    def act(actor: User, target: User):
        def call() -> None:  # its own instances, as each request loads its own
            who = User.objects.get(pk=actor.pk) if by == "each_other" else None
            whom = User.objects.get(pk=target.pk)
            if change == "demote":
                services.user_set_role(actor=who, user=whom, role=Role.MODERATOR)
            else:
                services.user_set_active(actor=who, user=whom, active=False)

        return call

    outcomes = _at_once(act(first, second), act(second, first))

    assert outcomes == ["done", refusal]
    assert User.objects.filter(role=Role.ADMIN, is_active=True).count() == 1
    assert AuditLog.objects.filter(action=AuditAction.DUTY_REFUSED).count() == 1


def test_a_member_cannot_report_staff_and_the_attempt_is_recorded(client_for):
    member, moderator = make_member().user, make_moderator()

    response = client_for(member).post(
        "/api/v1/moderation/report",
        {"reported_user": moderator.profile_code, "reason": "harassment"},
        format="json",
    )

    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not Report.objects.exists()
    assert refusals(member) == [("not_found", "report")]


# --- The admin console ------------------------------------------------------------------------


def test_an_admin_sees_their_own_role_and_state_read_only(client):
    admin = make_admin()
    client.force_login(admin)

    page = client.get(reverse("admin:accounts_user_change", args=[admin.pk])).content.decode()

    assert 'name="role"' not in page and 'name="is_active"' not in page


def test_a_moderator_cannot_open_a_staff_account_for_change(client):
    moderator, admin = make_moderator(), make_admin()
    client.force_login(moderator)

    response = client.post(
        reverse("admin:accounts_user_change", args=[admin.pk]),
        {"first_name": "Renamed", "role": "user", "is_active": ""},
    )

    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.first_name != "Renamed" and admin.role == Role.ADMIN and admin.is_active


def test_the_admins_suspend_action_skips_their_own_account_with_a_message(client):
    admin, member = make_admin(), UserFactory()
    make_admin()
    client.force_login(admin)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "suspend", "_selected_action": [str(admin.pk), str(member.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Nobody uses staff powers on their own account" in response.content.decode()
    assert User.objects.get(pk=admin.pk).is_active
    assert not User.objects.get(pk=member.pk).is_active
    assert refusals(admin) == [("own_account", "suspend")]


def test_an_admin_sets_no_password_of_their_own_through_the_member_form(client):
    admin = make_admin()
    client.force_login(admin)
    url = reverse("admin:auth_user_password_change", args=[admin.pk])

    response = client.post(url, {"password1": "N3w-passw0rd-k", "password2": "N3w-passw0rd-k"})

    assert response.status_code == 302
    admin.refresh_from_db()
    assert not admin.check_password("N3w-passw0rd-k")
    assert refusals(admin) == [("own_account", "password")]


def test_a_moderator_cannot_decide_their_own_report_in_the_console(client):
    moderator = make_moderator()
    groom = make_groom()
    report = Report.objects.create(reporter=moderator, reported=groom.user, reason="fake_profile")
    client.force_login(moderator)

    response = client.post(
        reverse("admin:moderation_report_change", args=[report.pk]),
        {"resolve_with": "suspend", "resolution_notes": "Mine."},
    )

    assert response.status_code == 200  # the form again, with the rule's message
    assert "Nobody decides a report they filed" in response.content.decode()
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING
    assert User.objects.get(pk=groom.user_id).is_active
    assert refusals(moderator) == [("own_report", "report_decision")]
