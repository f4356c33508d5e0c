"""Only a visible member acts on others: a member others cannot see (verification pending or
rejected, hibernating) sends no interest, shortlists no one and accepts nothing, while
blocking, reporting, declining and withdrawing stay open to her."""

from __future__ import annotations

import pytest

from matching import services
from matching.models import Interest, InterestSend, Shortlist
from moderation.models import Block, Report
from notifications.models import Notification
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

INTERESTS = "/api/v1/matching/interests"


def out_of_sight(state: str) -> Profile:
    """A groom whom others cannot see, in one of the ways a member can be."""
    if state == "pending":
        return make_groom(approved=False)
    groom = make_groom()
    changes = {"rejected": {"verification_status": "Rejected"}, "hidden": {"is_hidden": True}}
    Profile.objects.filter(pk=groom.pk).update(**changes[state])
    return groom


STATES = ["pending", "rejected", "hidden"]


@pytest.mark.parametrize("state", STATES)
def test_a_member_nobody_sees_cannot_send_an_interest(client_for, state):
    groom, bride = out_of_sight(state), make_member()

    response = client_for(groom.user).post(
        INTERESTS, {"to_profile": str(bride.user_id)}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "profile_not_visible"
    assert "approved and visible" in response.json()["detail"]
    assert not Interest.objects.exists() and not InterestSend.objects.exists()
    assert not Notification.objects.filter(recipient=bride.user).exists()


@pytest.mark.parametrize("state", STATES)
def test_a_member_nobody_sees_cannot_shortlist(client_for, state):
    groom, bride = out_of_sight(state), make_member()

    response = client_for(groom.user).post(f"/api/v1/matching/shortlist/{bride.user_id}")

    assert response.status_code == 403
    assert response.json()["code"] == "profile_not_visible"
    assert not Shortlist.objects.exists()


def test_a_member_nobody_sees_still_blocks_reports_and_ignores(client_for):
    groom, bride = out_of_sight("pending"), make_member()
    client = client_for(groom.user)

    blocked = client.post(
        "/api/v1/moderation/block", {"blocked_user_id": str(bride.user_id)}, format="json"
    )
    reported = client.post(
        "/api/v1/moderation/report",
        {"reported_user": str(bride.user_id), "reason": "fake_profile"},
        format="json",
    )
    ignored = client.post(f"/api/v1/matching/ignore/{make_member().user_id}")

    assert (blocked.status_code, reported.status_code, ignored.status_code) == (201, 201, 204)
    assert Block.objects.count() == Report.objects.count() == 1


def test_a_hibernating_member_declines_and_withdraws_but_does_not_accept(client_for):
    bride, suitor, other, wanted = make_member(), make_groom(), make_groom(), make_groom()
    first = services.interest_send(sender=suitor.user, receiver=bride.user)
    second = services.interest_send(sender=other.user, receiver=bride.user)
    sent = services.interest_send(sender=bride.user, receiver=wanted.user)
    Profile.objects.filter(pk=bride.pk).update(is_hidden=True)
    client = client_for(bride.user)

    accepted = client.post(f"{INTERESTS}/{first.pk}/accept")
    declined = client.post(f"{INTERESTS}/{second.pk}/decline")
    withdrawn = client.post(f"{INTERESTS}/{sent.pk}/withdraw")

    assert accepted.status_code == 403 and accepted.json()["code"] == "profile_not_visible"
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    first.refresh_from_db()
    assert first.status == "pending"
    # The suitor never hears her name for an interest she could not accept.
    assert not Notification.objects.filter(recipient=suitor.user, kind="interest_accepted").exists()


def test_back_in_sight_she_accepts(client_for):
    bride, suitor = make_member(), make_groom()
    interest = services.interest_send(sender=suitor.user, receiver=bride.user)
    Profile.objects.filter(pk=bride.pk).update(is_hidden=True)
    client = client_for(bride.user)
    refused = client.post(f"{INTERESTS}/{interest.pk}/accept")
    Profile.objects.filter(pk=bride.pk).update(is_hidden=False)

    accepted = client.post(f"{INTERESTS}/{interest.pk}/accept")

    assert refused.status_code == 403
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
