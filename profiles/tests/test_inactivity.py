"""Members long inactive: a heads-up a week before, then hidden from search and feed; their
next login brings them back. A member's own hibernation is never touched."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import PASSWORD
from notifications.models import Notification
from profiles import signals
from profiles.models import Profile
from profiles.tasks import inactivity
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/matching/search"


def idle(profile: Profile, days: float) -> None:
    Profile.objects.filter(pk=profile.pk).update(
        last_active_at=timezone.now() - timedelta(days=days)
    )


def warned_ago(profile: Profile, days: float) -> None:
    Profile.objects.filter(pk=profile.pk).update(
        inactivity_warned_at=timezone.now() - timedelta(days=days)
    )


def found_by(client, profile: Profile) -> bool:
    return str(profile.pk) in {c["id"] for c in client.get(SEARCH).json()["results"]}


def test_a_member_a_week_from_hiding_is_told_once(django_capture_on_commit_callbacks):
    bride = make_member()
    fresh = make_member()
    idle(bride, 174)
    idle(fresh, 100)

    with django_capture_on_commit_callbacks(execute=True):
        assert inactivity.apply().get() == {"warned": 1, "hidden": 0}
        assert inactivity.apply().get() == {"warned": 0, "hidden": 0}  # once per stretch

    notice = Notification.objects.get(kind="inactivity_notice")
    assert notice.recipient_id == bride.pk and "180 days" not in notice.body
    assert "for 174 days" in notice.body and "sign in" in notice.body
    hide_on = timezone.now() + timedelta(days=7)  # 180 days from her last visit, a week on
    assert f"{hide_on.astimezone(ZoneInfo('Asia/Kolkata')):%-d %B %Y}" in notice.body
    assert [m.to for m in mail.outbox] == [[bride.user.email]]
    bride.refresh_from_db()
    assert not bride.is_hidden and bride.inactivity_warned_at is not None


def test_hidden_after_the_notice_then_back_at_the_next_login(
    api, client_for, heard, django_capture_on_commit_callbacks
):
    bride, groom = make_member(), make_groom()
    looking = client_for(groom.user)
    idle(bride, 181)
    warned_ago(bride, 8)
    listed = heard(signals.profile_listed_changed)
    assert found_by(looking, bride)

    with django_capture_on_commit_callbacks(execute=True):
        assert inactivity.apply().get() == {"warned": 0, "hidden": 1}

    bride.refresh_from_db()
    assert bride.is_hidden and bride.hidden_for_inactivity
    assert listed == [{"profile_id": bride.pk, "listed": False}]
    assert not found_by(looking, bride)
    assert looking.get(f"/api/v1/profiles/{bride.pk}").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        login = api.post(
            "/api/v1/auth/login",
            {"identifier": bride.user.email, "password": PASSWORD},
            format="json",
        )
    assert login.status_code == 200
    bride.refresh_from_db()
    assert not bride.is_hidden and not bride.hidden_for_inactivity
    assert listed[-1] == {"profile_id": bride.pk, "listed": True}
    assert found_by(looking, bride)


def test_no_hiding_without_a_notice_a_week_old_nor_after_activity():
    unwarned, recent_notice, came_back = make_member(), make_member(), make_member()
    for profile in (unwarned, recent_notice, came_back):
        idle(profile, 200)
    warned_ago(recent_notice, 3)
    warned_ago(came_back, 10)
    idle(came_back, 2)  # signed in after the notice

    assert inactivity.apply().get()["hidden"] == 0
    assert not Profile.objects.filter(is_hidden=True).exists()


def test_a_hibernating_member_is_neither_warned_nor_woken_by_a_login(api):
    bride = make_member(is_hidden=True)
    idle(bride, 200)

    assert inactivity.apply().get() == {"warned": 0, "hidden": 0}
    api.post(
        "/api/v1/auth/login", {"identifier": bride.user.email, "password": PASSWORD}, format="json"
    )
    bride.refresh_from_db()
    assert bride.is_hidden and not bride.hidden_for_inactivity  # her own choice stands


def test_a_late_notice_still_gives_a_full_week(django_capture_on_commit_callbacks):
    bride = make_member()
    idle(bride, 400)  # inactive long before the schedule first ran

    inactivity.apply()
    body = Notification.objects.get(kind="inactivity_notice").body
    week_on = timezone.now() + timedelta(days=7)
    assert f"{week_on.astimezone(ZoneInfo('Asia/Kolkata')):%-d %B %Y}" in body
    assert inactivity.apply().get()["hidden"] == 0  # not before that week has passed
