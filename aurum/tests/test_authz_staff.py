"""The authorization matrix's staff rows: staff acting on staff, deciding their own reports,
and the staff-MFA rule (AURUM_ADMIN_REQUIRE_MFA on, as in prod).

Each cell runs on a fresh world, so a role's success cannot change what the next one finds.
A cell is the status and, for refusals, the error code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditLog
from accounts.services import tokens_issue
from accounts.tests.factories import make_admin, make_moderator
from aurum.tests.test_authz_matrix import ROWS
from moderation.models import Report
from profiles.tests.factories import make_groom, make_member, sections_payload

pytestmark = pytest.mark.django_db

STAFF_ROLES = ("member", "moderator", "moderator_no_mfa", "admin", "admin_no_mfa")
World = dict[str, Any]
Cell = tuple[int, str | None]


def staff_world() -> World:
    bride, groom = make_member(), make_groom()
    moderator, admin, other_admin = make_moderator(), make_admin(), make_admin()
    return {
        "bride": bride.user,
        "groom": groom.user,
        "moderator": moderator,
        "admin": admin,
        "other_admin": other_admin,
        "pending": make_member(approved=False).user,
        # Reports from before staff stopped being reportable, and one a moderator filed.
        "about_admin": Report.objects.create(
            reporter=bride.user, reported=other_admin, reason="other"
        ),
        "about_moderator": Report.objects.create(
            reporter=bride.user, reported=moderator, reason="other"
        ),
        "by_moderator": Report.objects.create(
            reporter=moderator, reported=groom.user, reason="fake_profile"
        ),
        "about_member": Report.objects.create(
            reporter=bride.user, reported=groom.user, reason="harassment"
        ),
    }


def token_for(world: World, role: str) -> str:
    user = {
        "member": world["bride"],
        "moderator": world["moderator"],
        "moderator_no_mfa": world["moderator"],
        "admin": world["admin"],
        "admin_no_mfa": world["admin"],
    }[role]
    methods = ["pwd"] if role.endswith("no_mfa") or role == "member" else ["pwd", "otp"]
    return tokens_issue(user=user, methods=methods).access_token


NO_MFA = (403, "mfa_required_for_staff")
STAFF_ONLY = (403, "permission_denied")


@dataclass
class StaffRow:
    name: str
    method: str
    path: Callable[[World], str]
    expect: dict[str, Cell]
    body: Callable[[World], Any] = field(default=lambda world: {})


def cells(
    *, member: Cell, moderator: Cell, admin: Cell, moderator_no_mfa: Cell = NO_MFA
) -> dict[str, Cell]:
    return {
        "member": member,
        "moderator": moderator,
        "moderator_no_mfa": moderator_no_mfa,
        "admin": admin,
        "admin_no_mfa": NO_MFA if moderator_no_mfa == NO_MFA else moderator_no_mfa,
    }


def resolve(report: str, action: str) -> dict[str, Callable[[World], Any]]:
    return {
        "path": lambda w: f"/api/v1/moderation/admin/reports/{w[report].pk}/resolve",
        "body": lambda w: {"action": action, "notes": "Looked into it."},
    }


STAFF_ROWS = [
    StaffRow(
        "staff cannot be reported through the member API",
        "POST",
        lambda w: "/api/v1/moderation/report",
        cells(
            member=(404, "not_found"),
            moderator=(404, "not_found"),
            admin=(404, "not_found"),
            moderator_no_mfa=(404, "not_found"),
        ),
        body=lambda w: {"reported_user": str(w["other_admin"].pk), "reason": "other"},
    ),
    StaffRow(
        "a moderator never suspends an admin",
        "POST",
        **resolve("about_admin", "suspend"),
        expect=cells(member=STAFF_ONLY, moderator=(403, "staff_target"), admin=(200, None)),
    ),
    StaffRow(
        "nobody decides a report about themselves",
        "POST",
        **resolve("about_moderator", "dismiss"),
        expect=cells(member=STAFF_ONLY, moderator=(403, "own_report"), admin=(200, None)),
    ),
    StaffRow(
        "nobody decides a report they filed",
        "POST",
        **resolve("by_moderator", "warn"),
        expect=cells(member=STAFF_ONLY, moderator=(403, "own_report"), admin=(200, None)),
    ),
    StaffRow(
        "moderators act on members",
        "POST",
        **resolve("about_member", "suspend"),
        expect=cells(member=STAFF_ONLY, moderator=(200, None), admin=(200, None)),
    ),
    StaffRow(
        "the staff queue needs staff MFA",
        "GET",
        lambda w: "/api/v1/onboarding/admin/pending-verifications",
        cells(member=STAFF_ONLY, moderator=(200, None), admin=(200, None)),
    ),
    StaffRow(
        "verification needs staff MFA",
        "POST",
        lambda w: f"/api/v1/onboarding/admin/verify-user/{w['pending'].pk}?approved=true",
        cells(member=STAFF_ONLY, moderator=(200, None), admin=(200, None)),
    ),
    StaffRow(
        "a member's verification status, read by staff",
        "GET",
        lambda w: f"/api/v1/onboarding/verification-status/{w['groom'].pk}",
        cells(member=(404, "not_found"), moderator=(200, None), admin=(200, None)),
    ),
    StaffRow(
        "staff edit a member's profile (audited)",
        "POST",
        lambda w: f"/api/v1/onboarding/complete-profile/{w['groom'].pk}",
        cells(member=(404, "not_found"), moderator=(200, None), admin=(200, None)),
        body=lambda w: sections_payload(gender="male", about="Edited by the support desk."),
    ),
    StaffRow(
        "staff never change a member's contact details",
        "POST",
        lambda w: f"/api/v1/onboarding/complete-profile/{w['groom'].pk}",
        cells(
            member=(404, "not_found"),
            moderator=(403, "contact_details_member_only"),
            admin=(403, "contact_details_member_only"),
        ),
        body=lambda w: sections_payload(gender="male", whatsapp="+919999988888"),
    ),
]


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("row", STAFF_ROWS, ids=lambda row: row.name)
def test_staff_duties(row, role, settings):
    settings.AURUM_ADMIN_REQUIRE_MFA = True
    world = staff_world()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world, role)}")

    response = client.generic(
        row.method,
        row.path(world),
        data=None if row.method == "GET" else _json(row.body(world)),
        content_type="application/json",
    )

    code = response.json().get("code") if response.status_code >= 400 else None
    assert (response.status_code, code) == row.expect[role], response.content


def test_every_staff_endpoint_needs_staff_mfa(settings):
    """Every staff-only row of the main matrix, with a moderator's token issued without the
    authenticator code: 403 mfa_required_for_staff, whatever the endpoint."""
    settings.AURUM_ADMIN_REQUIRE_MFA = True
    world = staff_world()
    staff_only = [r for r in ROWS if r.expect["owner"] == 403 and r.expect["moderator"] != 403]
    assert len(staff_only) >= 4
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world, 'moderator_no_mfa')}")
    report = world["about_member"]

    for row in staff_only:
        path = row.path({**world, "report": report})
        response = client.generic(row.method, path, data="{}", content_type="application/json")
        assert (response.status_code, response.json()["code"]) == NO_MFA, path


def test_staff_without_mfa_see_no_contact_details(settings):
    settings.AURUM_ADMIN_REQUIRE_MFA = True
    world = staff_world()
    path = f"/api/v1/profiles/{world['groom'].profile_code}"

    def seen_as(role: str) -> tuple[int, str]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world, role)}")
        response = client.get(path)
        return response.status_code, response.content.decode()

    status, body = seen_as("moderator")
    assert status == 200 and world["groom"].phone in body
    status, body = seen_as("moderator_no_mfa")
    assert status == 200 and world["groom"].first_name in body
    assert world["groom"].phone not in body and world["groom"].email not in body


def test_staff_mfa_is_off_without_the_setting():
    """Without AURUM_ADMIN_REQUIRE_MFA (the embedded default), staff without an authenticator
    use their powers with a password login, as before."""
    world = staff_world()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world, 'moderator_no_mfa')}")

    response = client.get("/api/v1/onboarding/admin/pending-verifications")

    assert response.status_code == 200


def test_every_refusal_by_the_staff_rules_is_audited(settings):
    settings.AURUM_ADMIN_REQUIRE_MFA = True
    world = staff_world()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world, 'moderator')}")
    row = resolve("about_admin", "suspend")

    client.post(row["path"](world), row["body"](world), format="json")
    client.post(
        "/api/v1/moderation/report",
        {"reported_user": str(world["admin"].pk), "reason": "other"},
        format="json",
    )

    refusals = AuditLog.objects.filter(action=AuditAction.DUTY_REFUSED, actor=world["moderator"])
    assert sorted((r.metadata["rule"], r.target_id) for r in refusals) == sorted(
        [
            ("staff_target", str(world["other_admin"].pk)),
            ("not_found", str(world["admin"].pk)),
        ]
    )
    assert world["other_admin"].__class__.objects.get(pk=world["other_admin"].pk).is_active


def _json(body: Any) -> str:
    import json

    return json.dumps(body)
