"""Every way staff suspend an account ends in the same state, through
`accounts.services.user_set_active`: its sessions revoked, its phones forgotten, audited."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuditAction, AuditLog, User
from accounts.services import tokens_issue
from accounts.tests.factories import make_admin, make_moderator
from moderation.models import Report
from notifications.models import DeviceToken
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def _admin_action(client, client_for, member: User) -> None:
    client.force_login(make_admin())
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "suspend", "_selected_action": [str(member.pk)]},
    )


def _admin_form(client, client_for, member: User) -> None:
    client.force_login(make_admin())
    response = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]),
        {
            "first_name": member.first_name,
            "last_name": member.last_name,
            "email": member.email,
            "phone": member.phone,
            "role": member.role,
            # "is_active" left out: the box unticked
        },
    )
    assert response.status_code == 302, response.content[:2000]


def _reported(client_for, member: User) -> Report:
    client_for(make_member().user).post(
        "/api/v1/moderation/report",
        {"reported_user": str(member.pk), "reason": "harassment"},
        format="json",
    )
    return Report.objects.get(reported=member)


def _report_resolution(client, client_for, member: User) -> None:
    report = _reported(client_for, member)
    response = client_for(make_moderator()).post(
        f"/api/v1/moderation/admin/reports/{report.pk}/resolve",
        {"action": "suspend", "notes": "Repeated harassment"},
        format="json",
    )
    assert response.status_code == 200, response.content


def _report_admin_action(client, client_for, member: User) -> None:
    report = _reported(client_for, member)
    client.force_login(make_moderator())
    client.post(
        reverse("admin:moderation_report_changelist"),
        {"action": "suspend", "_selected_action": [str(report.pk)]},
    )


@pytest.mark.parametrize(
    "suspend", [_admin_action, _admin_form, _report_resolution, _report_admin_action]
)
def test_every_way_to_suspend_leaves_the_same_state(client, client_for, suspend):
    member = make_groom().user
    tokens_issue(user=member)
    tokens_issue(user=member)  # a second device's session
    DeviceToken.objects.create(user=member, token="phone-token", platform="android")

    suspend(client, client_for, member)

    member.refresh_from_db()
    assert member.is_active is False
    assert not OutstandingToken.objects.filter(user=member, blacklistedtoken__isnull=True).exists()
    assert not DeviceToken.objects.filter(user=member).exists()
    assert (
        AuditLog.objects.filter(action=AuditAction.SUSPENSION, target_id=str(member.pk)).count()
        == 1
    )
