from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from accounts.models import AuditAction, AuditLog, User
from accounts.services import tokens_issue
from accounts.tests.factories import PASSWORD, make_moderator
from moderation.models import Block, Report
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

BLOCK = "/api/v1/moderation/block"
REPORT = "/api/v1/moderation/report"
QUEUE = "/api/v1/moderation/admin/reports"


def resolve(report_id: object) -> str:
    return f"/api/v1/moderation/admin/reports/{report_id}/resolve"


# --- blocks -----------------------------------------------------------------------------------


def test_block_hides_each_member_from_the_other(client_for):
    bride, groom = make_member(), make_groom()
    bride_client, groom_client = client_for(bride.user), client_for(groom.user)

    response = bride_client.post(BLOCK, {"blocked_user_id": str(groom.user_id)}, format="json")

    assert response.status_code == 201
    assert response.json()["profile_code"] == groom.user.profile_code
    assert bride_client.get(f"/api/v1/profiles/{groom.user_id}").status_code == 404
    assert groom_client.get(f"/api/v1/profiles/{bride.user_id}").status_code == 404


def test_block_is_idempotent_and_accepts_a_profile_code(client_for):
    bride, groom = make_member(), make_groom()
    client = client_for(bride.user)

    first = client.post(BLOCK, {"blocked_user_id": groom.user.profile_code}, format="json")
    again = client.post(BLOCK, {"blocked_user_id": str(groom.user_id)}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert Block.objects.count() == 1


def test_unblock_restores_visibility_and_is_idempotent(client_for):
    bride, groom = make_member(), make_groom()
    client = client_for(bride.user)
    client.post(BLOCK, {"blocked_user_id": str(groom.user_id)}, format="json")

    first = client.delete(f"{BLOCK}/{groom.user_id}")
    again = client.delete(f"{BLOCK}/{groom.user_id}")

    assert first.status_code == again.status_code == 204
    assert client.get(f"/api/v1/profiles/{groom.user_id}").status_code == 200


def test_blocks_lists_my_blocks(client_for):
    bride, groom = make_member(), make_groom()
    client = client_for(bride.user)
    client.post(BLOCK, {"blocked_user_id": str(groom.user_id)}, format="json")

    body = client.get("/api/v1/moderation/blocks").json()

    assert [b["user_id"] for b in body["results"]] == [str(groom.user_id)]


@pytest.mark.parametrize("target", ["self", "unknown", "invisible", "garbage", "nul"])
def test_bad_block_targets(client_for, target):
    bride = make_member()
    hidden = make_groom(approved=False)
    value = {
        "self": str(bride.user_id),
        "unknown": "00000000-0000-0000-0000-000000000000",
        "invisible": str(hidden.user_id),
        "garbage": "zzz-not-an-id",
        "nul": "\u0000",
    }[target]

    response = client_for(bride.user).post(BLOCK, {"blocked_user_id": value}, format="json")

    assert response.status_code == (400 if target in {"self", "nul"} else 404)
    assert Block.objects.count() == 0


# --- reports ----------------------------------------------------------------------------------


def test_report_then_duplicate_is_409(client_for):
    bride, groom = make_member(), make_groom()
    client = client_for(bride.user)
    body = {
        "reported_user": str(groom.user_id),
        "reason": "money_scam",
        "details": "Asked for ₹50,000",
    }

    first = client.post(REPORT, body, format="json")
    again = client.post(REPORT, body, format="json")

    assert first.status_code == 201, first.content
    assert first.json()["status"] == "Pending"
    assert again.status_code == 409
    assert Report.objects.count() == 1


def test_a_member_may_report_someone_they_blocked(client_for):
    bride, groom = make_member(), make_groom()
    client = client_for(bride.user)
    client.post(BLOCK, {"blocked_user_id": str(groom.user_id)}, format="json")

    response = client.post(
        REPORT, {"reported_user": str(groom.user_id), "reason": "harassment"}, format="json"
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"reason": "harassment"}, 400),
        ({"reported_user": "SELF", "reason": "harassment"}, 400),
        ({"reported_user": "00000000-0000-0000-0000-000000000000", "reason": "harassment"}, 404),
        ({"reported_user": "GROOM", "reason": "ugly"}, 400),
    ],
)
def test_bad_reports_store_nothing(client_for, body, status):
    bride, groom = make_member(), make_groom()
    mapping = {"SELF": str(bride.user_id), "GROOM": str(groom.user_id)}
    body = {k: mapping.get(v, v) for k, v in body.items()}

    response = client_for(bride.user).post(REPORT, body, format="json")

    assert response.status_code == status
    assert Report.objects.count() == 0


def test_three_reporters_in_a_week_hold_the_member_for_review(client_for):
    suspect = make_groom()
    reporters = [make_member() for _ in range(3)]
    onlooker = make_member()

    for reporter in reporters[:2]:
        client_for(reporter.user).post(
            REPORT, {"reported_user": str(suspect.user_id), "reason": "fake_profile"}, format="json"
        )
    seen_before = client_for(onlooker.user).get(f"/api/v1/profiles/{suspect.user_id}").status_code
    client_for(reporters[2].user).post(
        REPORT, {"reported_user": str(suspect.user_id), "reason": "fake_profile"}, format="json"
    )
    seen_after = client_for(onlooker.user).get(f"/api/v1/profiles/{suspect.user_id}").status_code
    queue = client_for(make_moderator()).get(QUEUE).json()["results"]

    assert (seen_before, seen_after) == (200, 404)
    assert all(r["flagged"] for r in queue if r["reported"]["id"] == str(suspect.user_id))
    assert queue[0]["reported"]["id"] == str(suspect.user_id)


# --- staff ------------------------------------------------------------------------------------


def open_report(client_for):
    bride, groom = make_member(), make_groom()
    client_for(bride.user).post(
        REPORT, {"reported_user": str(groom.user_id), "reason": "harassment"}, format="json"
    )
    return Report.objects.get(), bride, groom


def test_members_cannot_use_staff_endpoints(client_for):
    report, bride, _ = open_report(client_for)
    client = client_for(bride.user)

    assert client.get(QUEUE).status_code == 403
    assert client.post(resolve(report.pk), {"action": "dismiss"}, format="json").status_code == 403


def test_suspend_ends_everything_for_the_member(client_for, api):
    report, _, groom = open_report(client_for)
    moderator = make_moderator()
    session = tokens_issue(user=groom.user)

    response = client_for(moderator).post(
        resolve(report.pk), {"action": "suspend", "notes": "Repeated harassment"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Resolved" and response.json()["action"] == "suspend"
    groom.user.refresh_from_db()
    assert groom.user.is_active is False
    login = api.post(
        "/api/v1/auth/login", {"identifier": groom.user.email, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 403
    refresh = api.post(
        "/api/v1/auth/refresh", {"refresh_token": session.refresh_token}, format="json"
    )
    assert refresh.status_code == 401
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {AuditAction.REPORT_RESOLUTION, AuditAction.SUSPENSION} <= actions


def test_resolving_twice_is_409(client_for):
    report, _, _ = open_report(client_for)
    client = client_for(make_moderator())

    client.post(resolve(report.pk), {"action": "dismiss"}, format="json")
    again = client.post(resolve(report.pk), {"action": "warn"}, format="json")

    assert again.status_code == 409
    assert Report.objects.get().action == "dismiss"


@pytest.mark.parametrize(("body", "status"), [({"action": "ban"}, 400), ({}, 400)])
def test_resolve_bad_input(client_for, body, status):
    report, _, _ = open_report(client_for)

    response = client_for(make_moderator()).post(resolve(report.pk), body, format="json")

    assert response.status_code == status
    assert Report.objects.get().status == "Pending"


def test_resolve_unknown_report_is_404(client_for):
    response = client_for(make_moderator()).post(
        resolve("not-a-uuid"), {"action": "dismiss"}, format="json"
    )

    assert response.status_code == 404


def test_queue_filters_by_status(client_for):
    report, _, _ = open_report(client_for)
    client = client_for(make_moderator())
    client.post(resolve(report.pk), {"action": "dismiss"}, format="json")

    pending = client.get(QUEUE, {"status": "Pending"}).json()["results"]
    resolved = client.get(QUEUE, {"status": "Resolved"}).json()["results"]
    bad = client.get(QUEUE, {"status": "Whatever"})

    assert pending == [] and len(resolved) == 1 and bad.status_code == 400
    assert "fields" in bad.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_suspension_closes_the_members_socket():
    from aurum.asgi import application
    from moderation import services

    groom = await database_sync_to_async(make_groom)()
    reporter = await database_sync_to_async(make_member)()
    token = await database_sync_to_async(lambda: tokens_issue(user=groom.user).access_token)()
    ws = WebsocketCommunicator(application, f"/ws/chat?token={token}")
    assert (await ws.connect())[0]

    def suspend() -> None:
        report = services.report_create(
            reporter=reporter.user, reported=groom.user, reason="harassment"
        )
        services.report_resolve(
            moderator=make_moderator(), report=report, action="suspend", notes="x"
        )

    await database_sync_to_async(suspend)()

    assert await ws.receive_output() == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()  # the consumer finishes its work before the test's loop closes


# --- the admin --------------------------------------------------------------------------------


def test_admin_report_page_shows_the_members_story_and_resolves(client):
    from accounts.tests.factories import make_moderator as moderator_factory

    bride, groom = make_member(), make_groom()
    from moderation import services

    report = services.report_create(reporter=bride.user, reported=groom.user, reason="money_scam")
    moderator = moderator_factory()
    client.force_login(moderator)
    url = reverse("admin:moderation_report_change", args=[report.pk])

    page = client.get(url).content.decode()
    saved = client.post(url, {"resolve_with": "warn", "resolution_notes": "First warning"})

    assert groom.user.profile_code in page and "Asking for money" in page
    assert saved.status_code == 302
    report.refresh_from_db()
    assert report.action == "warn" and report.resolved_by == moderator
    assert User.objects.get(pk=groom.user_id).is_active is True


def report_as(client_for, reporter, member, reason="fake_profile"):
    return client_for(reporter.user).post(
        REPORT, {"reported_user": str(member.user_id), "reason": reason}, format="json"
    )


def test_unapproved_reporters_cannot_hide_anyone(client_for):
    target = make_groom()
    onlooker = make_member()
    for _ in range(3):
        throwaway = make_member(approved=False)
        assert report_as(client_for, throwaway, target).status_code == 201

    assert client_for(onlooker.user).get(f"/api/v1/profiles/{target.user_id}").status_code == 200


def test_dismissing_releases_the_hold_and_old_reports_do_not_count(client_for):
    target = make_groom()
    onlooker = make_member()
    reporters = [make_member() for _ in range(3)]
    for reporter in reporters:
        report_as(client_for, reporter, target)
    assert client_for(onlooker.user).get(f"/api/v1/profiles/{target.user_id}").status_code == 404
    moderator = client_for(make_moderator())
    first = Report.objects.filter(reported=target.user).first()

    moderator.post(resolve(first.pk), {"action": "dismiss"}, format="json")
    visible_after_review = client_for(onlooker.user).get(f"/api/v1/profiles/{target.user_id}")
    for report in Report.objects.filter(status="Pending"):
        moderator.post(resolve(report.pk), {"action": "dismiss"}, format="json")
    report_as(client_for, make_member(), target)

    assert visible_after_review.status_code == 200
    assert client_for(onlooker.user).get(f"/api/v1/profiles/{target.user_id}").status_code == 200


def test_reports_older_than_a_week_do_not_count(client_for):
    from datetime import timedelta

    from django.utils import timezone

    target = make_groom()
    for reporter in [make_member(), make_member()]:
        report_as(client_for, reporter, target)
    Report.objects.update(created_at=timezone.now() - timedelta(days=8))

    report_as(client_for, make_member(), target)

    assert not Report.objects.filter(flagged=True).exists()


def test_a_member_may_block_someone_they_reported_while_held(client_for):
    target = make_groom()
    reporters = [make_member() for _ in range(3)]
    for reporter in reporters:
        report_as(client_for, reporter, target)

    response = client_for(reporters[0].user).post(
        BLOCK, {"blocked_user_id": str(target.user_id)}, format="json"
    )

    assert response.status_code == 201


def test_nobody_resolves_a_report_about_themselves(client_for):
    moderator = make_moderator()
    make_member(user=moderator)
    reporter = make_groom()
    # Staff are not reported through the API any more; a report from before that still is.
    report = Report.objects.create(reporter=reporter.user, reported=moderator, reason="other")

    response = client_for(moderator).post(resolve(report.pk), {"action": "dismiss"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "own_report"


def test_suspended_member_vanishes_and_their_access_token_dies(client_for):
    report, bride, groom = open_report(client_for)
    groom_client = client_for(groom.user)

    client_for(make_moderator()).post(resolve(report.pk), {"action": "suspend"}, format="json")

    assert groom_client.get("/api/v1/auth/me").status_code == 401
    assert client_for(bride.user).get(f"/api/v1/profiles/{groom.user_id}").status_code == 404


def test_reports_are_rate_limited(client_for, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "report_user": "1/d"}
    bride = make_member()
    first, second = make_groom(), make_groom()

    assert report_as(client_for, bride, first).status_code == 201
    assert report_as(client_for, bride, second).status_code == 429


def test_bad_status_filter_is_400_with_fields(client_for):
    response = client_for(make_moderator()).get(QUEUE, {"status": "Whatever"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


@pytest.mark.parametrize("rows", [1, 12])
def test_staff_queue_and_blocks_query_counts_are_fixed(client_for, django_assert_num_queries, rows):
    blocker = make_member()
    for _ in range(rows):
        member = make_groom()
        report_as(client_for, blocker, member)
        client_for(blocker.user).post(
            BLOCK, {"blocked_user_id": str(member.user_id)}, format="json"
        )
    staff, mine = client_for(make_moderator()), client_for(blocker.user)

    # The token's user, whether the moderator has an authenticator (the staff-MFA rule), the
    # count, the page with both members.
    with django_assert_num_queries(4):
        staff.get(QUEUE)
    with django_assert_num_queries(2):  # token user, the page
        mine.get("/api/v1/moderation/blocks")
