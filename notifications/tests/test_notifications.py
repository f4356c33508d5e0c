from __future__ import annotations

import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from accounts.services import tokens_issue
from accounts.tests.factories import UserFactory, make_moderator
from deliveries.models import Delivery
from notifications import services
from notifications.models import DeviceToken, Notification
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"


def note(user, kind="warning", title="Hello", **kwargs):
    return services.notify(recipient=user, kind=kind, title=title, body="Body", **kwargs)


# --- notify -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_notification_reaches_a_connected_websocket():
    from aurum.asgi import application

    user = await database_sync_to_async(UserFactory)()
    token = await database_sync_to_async(lambda: tokens_issue(user=user).access_token)()
    ws = WebsocketCommunicator(application, f"/ws/chat?token={token}")
    assert (await ws.connect())[0]

    stored = await database_sync_to_async(note)(user, title="Your profile is approved")
    frame = await ws.receive_json_from(timeout=5)

    assert frame["type"] == "notification.new"
    assert frame["notification"]["id"] == str(stored.id)
    assert frame["notification"]["title"] == "Your profile is approved"
    await ws.disconnect()


def test_email_goes_out_by_default_sms_does_not(outbox):
    user = UserFactory(email="anjali@example.com", phone="+919847012345")

    note(user, title="Your profile is approved")

    [email] = list(outbox)
    assert email["channel"] == "email" and email["to"] == "anjali@example.com"
    assert "Your profile is approved" in email["subject"]
    assert "Dear" in email["text"] and email["html"]  # plain text and HTML


def test_preferences_choose_channels_and_muted_kinds(client_for, outbox):
    user = UserFactory(email="anjali@example.com", phone="+919847012345")
    client = client_for(user)
    client.patch(
        "/api/v1/notifications/preferences",
        {"email": False, "sms": True, "muted_kinds": ["report_resolved"]},
        format="json",
    )

    note(user, kind="warning")
    note(user, kind="report_resolved")

    assert [(m["channel"], m["to"]) for m in outbox] == [("sms", "+919847012345")]
    assert Notification.objects.filter(recipient=user).count() == 2  # in-app always kept


def test_push_goes_to_every_device(client_for, outbox):
    user = UserFactory()
    client = client_for(user)
    for token, platform in [("tok-android", "android"), ("tok-ios", "ios")]:
        client.post(
            "/api/v1/notifications/devices", {"token": token, "platform": platform}, format="json"
        )

    note(user)

    pushes = [m for m in outbox if m["channel"] == "push"]
    assert sorted(m["to"] for m in pushes) == ["tok-android", "tok-ios"]  # one message each


def test_a_failing_channel_loses_nothing(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "no.such.Backend"
    user = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        stored = note(user)

    assert Notification.objects.filter(pk=stored.pk).exists()
    failed = Delivery.objects.get(user=user, channel="email")
    assert failed.status == "failed" and "No module named 'no'" in failed.last_error


def test_list_is_newest_first_with_unread_count(client_for):
    user, other = UserFactory(), UserFactory()
    first, second = note(user, title="first"), note(user, title="second")
    note(other, title="not yours")

    body = client_for(user).get(LIST).json()

    assert [n["title"] for n in body["results"]] == ["second", "first"]
    assert body["unread_count"] == 2
    assert {"next", "previous"} <= set(body)
    assert first.id and second.id


def test_mark_read_by_ids_and_all(client_for):
    user, other = UserFactory(), UserFactory()
    a, b = note(user), note(user)
    foreign = note(other)
    client = client_for(user)

    by_ids = client.post(
        "/api/v1/notifications/mark-read", {"ids": [str(a.id), str(foreign.id)]}, format="json"
    ).json()
    everything = client.post("/api/v1/notifications/mark-read", {"all": True}, format="json").json()

    assert by_ids == {"marked": 1, "unread_count": 1}
    assert everything == {"marked": 1, "unread_count": 0}
    assert Notification.objects.get(pk=foreign.pk).read_at is None
    assert b.id


@pytest.mark.parametrize(
    "body", [{}, {"ids": ["not-a-uuid"]}, {"all": "maybe"}, {"ids": [], "all": False}]
)
def test_mark_read_bad_input(client_for, body):
    response = client_for(UserFactory()).post(
        "/api/v1/notifications/mark-read", body, format="json"
    )

    assert response.status_code == 400


def test_devices_register_idempotently_move_and_delete(client_for):
    first, second = UserFactory(), UserFactory()
    body = {"token": "fcm:abc", "platform": "android"}

    created = client_for(first).post("/api/v1/notifications/devices", body, format="json")
    again = client_for(first).post("/api/v1/notifications/devices", body, format="json")
    moved = client_for(second).post("/api/v1/notifications/devices", body, format="json")

    assert (created.status_code, again.status_code, moved.status_code) == (201, 200, 200)
    assert DeviceToken.objects.get().user == second
    assert client_for(first).delete("/api/v1/notifications/devices/fcm:abc").status_code == 204
    assert DeviceToken.objects.count() == 1  # not first's any more: untouched
    assert client_for(second).delete("/api/v1/notifications/devices/fcm:abc").status_code == 204
    assert DeviceToken.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [{"token": "x", "platform": "symbian"}, {"platform": "ios"}, {"token": "", "platform": "ios"}],
)
def test_device_bad_input(client_for, body):
    response = client_for(UserFactory()).post("/api/v1/notifications/devices", body, format="json")

    assert response.status_code == 400
    assert DeviceToken.objects.count() == 0


def test_preferences_refuse_unknown_kinds(client_for):
    response = client_for(UserFactory()).patch(
        "/api/v1/notifications/preferences", {"muted_kinds": ["gossip"]}, format="json"
    )

    assert response.status_code == 400


# --- events wired -----------------------------------------------------------------------------


def test_report_resolution_tells_the_reporter_and_warns_the_member(client_for):
    bride, groom = make_member(), make_groom()
    client_for(bride.user).post(
        "/api/v1/moderation/report",
        {"reported_user": str(groom.user_id), "reason": "harassment"},
        format="json",
    )
    report_id = (
        client_for(make_moderator())
        .get("/api/v1/moderation/admin/reports")
        .json()["results"][0]["id"]
    )

    client_for(make_moderator()).post(
        f"/api/v1/moderation/admin/reports/{report_id}/resolve",
        {"action": "warn", "notes": "Be respectful."},
        format="json",
    )

    assert Notification.objects.get(recipient=bride.user).kind == "report_resolved"
    warning = Notification.objects.get(recipient=groom.user)
    assert warning.kind == "warning"
    assert "Be respectful." not in warning.body  # the moderators' notes stay internal
    assert bride.user.first_name not in warning.body


def test_suspended_members_get_nothing_outside_the_app(outbox):
    user = UserFactory(email="gone@example.com", is_active=False)
    DeviceToken.objects.create(user=user, token="tok", platform="android")

    note(user, kind="report_resolved")

    assert outbox == [] and not Delivery.objects.exists()


def test_suspension_notice_is_emailed_and_phones_forgotten(client_for, outbox):
    bride, groom = make_member(), make_groom()
    DeviceToken.objects.create(user=groom.user, token="tok", platform="android")
    from moderation import services as moderation

    report = moderation.report_create(reporter=bride.user, reported=groom.user, reason="other")
    moderation.report_resolve(
        moderator=make_moderator(), report=report, action="suspend", notes="internal"
    )

    assert [m["to"] for m in outbox if "suspended" in m.get("subject", "")] == [groom.user.email]
    assert not DeviceToken.objects.filter(user=groom.user).exists()
    assert all(m["channel"] != "push" for m in outbox)


def test_rejected_verification_tells_the_member_why(api, client_for):
    member = make_member(approved=False)
    from profiles.models import Profile

    Profile.objects.filter(pk=member.pk).update(verification_status="Pending")
    client_for(make_moderator()).post(
        f"/api/v1/onboarding/admin/verify-user/{member.user_id}?approved=false",
        {"notes": "Please add your real surname."},
        format="json",
    )

    notice = Notification.objects.get(recipient=member.user)
    assert notice.kind == "verification_rejected"
    assert "Please add your real surname." in notice.body


def test_live_frame_and_list_share_one_shape(client_for):
    user = UserFactory()
    stored = note(user)

    listed = client_for(user).get(LIST).json()["results"][0]

    assert services.serialize(stored) == listed


@pytest.mark.parametrize("rows", [1, 15])
def test_list_query_count_is_fixed(client_for, django_assert_num_queries, rows):
    user = UserFactory()
    for _ in range(rows):
        note(user)
    client = client_for(user)

    with django_assert_num_queries(3):  # token user, the page, the unread count
        client.get(LIST)


def test_long_or_nul_tokens_are_4xx(client_for):
    client = client_for(UserFactory())

    long_token = client.post(
        "/api/v1/notifications/devices", {"token": "x" * 3000, "platform": "ios"}, format="json"
    )
    nul_delete = client.delete("/api/v1/notifications/devices/%00")

    assert long_token.status_code == 400
    assert nul_delete.status_code == 204
    assert DeviceToken.objects.count() == 0


def test_plain_text_email_is_not_html_escaped(outbox):
    user = UserFactory(email="a@example.com")

    services.notify(recipient=user, kind="warning", title="Don't & won't", body="Tom & Jerry")

    [email] = list(outbox)
    assert "Don't & won't" in email["text"] and "Tom & Jerry" in email["text"]


def test_a_member_keeps_at_most_max_devices_and_the_least_recently_seen_goes(
    client_for, settings, outbox
):
    settings.NOTIFY_MAX_DEVICES = 3
    user, neighbour = UserFactory(), UserFactory()
    services.device_register(user=neighbour, token="neighbour-phone", platform="ios")
    client = client_for(user)

    def register(token: str):
        return client.post(
            "/api/v1/notifications/devices", {"token": token, "platform": "android"}, format="json"
        )

    for token in ("old-install", "tablet", "phone"):
        assert register(token).status_code == 201
    assert register("old-install").status_code == 200  # the app started again: seen just now
    newest = register("new-install")

    assert newest.status_code == 201
    kept = set(DeviceToken.objects.filter(user=user).values_list("token", flat=True))
    assert kept == {"old-install", "phone", "new-install"}  # "tablet" was seen least recently
    assert DeviceToken.objects.filter(user=neighbour).count() == 1
    note(user)
    pushes = [m for m in outbox if m["channel"] == "push"]
    assert sorted(m["to"] for m in pushes) == sorted(kept)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_leave_at_most_max_devices(settings):
    settings.NOTIFY_MAX_DEVICES = 3
    user = UserFactory()
    barrier = threading.Barrier(8)

    def register(number: int) -> None:
        barrier.wait()
        try:
            services.device_register(user=user, token=f"phone-{number}", platform="android")
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert DeviceToken.objects.filter(user=user).count() == 3


@pytest.mark.parametrize("bad", ["25:00", "7:05", "22:00:00", 2200, None, ""])
def test_digest_preferences_take_frequencies_and_clock_times_only(client_for, bad):
    client = client_for(UserFactory())
    good = client.patch(
        "/api/v1/notifications/preferences",
        {"digest_matches": "weekly", "digest_interests": "never", "quiet_from": "23:30"},
        format="json",
    )
    refused = client.patch(
        "/api/v1/notifications/preferences",
        {"quiet_until": bad, "digest_matches": "daily"},
        format="json",
    )

    assert good.status_code == 200
    assert (good.json()["digest_matches"], good.json()["quiet_from"]) == ("weekly", "23:30")
    assert refused.status_code == 400 and "quiet_until" in refused.json()["fields"]
    after = client.get("/api/v1/notifications/preferences").json()
    assert (after["digest_matches"], after["quiet_until"]) == ("weekly", "08:00")  # nothing kept
