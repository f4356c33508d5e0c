"""Last activity: exact only to the member themself and staff; other members see how recently
(today, this week, this month, earlier), and nothing at all when she hides her last seen."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.serializers import DateTimeField

import policy
from accounts.tests.factories import make_moderator
from chat import services as chat
from profiles import selectors
from profiles.models import Profile
from profiles.serializers import CardOut, card_context, cards_from_values
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/matching/search"


@pytest.fixture
def owner() -> Profile:
    bride = make_member()
    moment = timezone.now().replace(microsecond=123456) - timedelta(days=3)
    Profile.objects.filter(pk=bride.pk).update(last_active_at=moment)
    bride.refresh_from_db()
    return bride


def hide_last_seen(owner: Profile) -> None:
    chat.settings_update(user=owner.user, changes={"show_last_seen": False})


def shown(data: dict) -> tuple[str | None, str | None]:
    return data["last_active_at"], data["last_active"]


def exact(owner: Profile) -> str:
    return DateTimeField().to_representation(owner.last_active_at)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_profile_as_a_stranger_as_herself_and_as_staff(client_for, owner, hidden):
    if hidden:
        hide_last_seen(owner)
    stranger, staff = make_groom(), make_moderator()
    page = f"/api/v1/profiles/{owner.user.profile_code}"

    as_stranger = client_for(stranger.user).get(page).json()
    as_herself = client_for(owner.user).get(page).json()
    own = client_for(owner.user).get("/api/v1/profiles/me").json()
    as_staff = client_for(staff).get(page).json()

    assert shown(as_stranger) == ((None, None) if hidden else (None, "this_week"))
    assert shown(as_herself) == shown(own) == shown(as_staff) == (exact(owner), "this_week")


@pytest.mark.parametrize("hidden", [False, True])
def test_a_card_as_a_stranger_as_herself_and_as_staff(client_for, owner, hidden):
    if hidden:
        hide_last_seen(owner)
    stranger, staff = make_groom(), make_moderator()

    searched = client_for(stranger.user).get(SEARCH).json()["results"]
    cards = {}
    for name, viewer in (("herself", owner.user), ("staff", staff)):
        rows = list(policy.card_values(Profile.objects.filter(pk=owner.pk)))
        fast = cards_from_values(viewer, rows)[0]
        slow = CardOut(owner, context=card_context(viewer, [owner])).data
        alone = CardOut(owner, context={"viewer": viewer}).data  # no list context: one query
        assert fast == slow == alone
        cards[name] = fast

    assert [card["id"] for card in searched] == [str(owner.pk)]
    assert shown(searched[0]) == ((None, None) if hidden else (None, "this_week"))
    assert shown(cards["herself"]) == shown(cards["staff"]) == (exact(owner), "this_week")


def test_a_stranger_card_from_either_path_agrees(owner):
    hide_last_seen(owner)
    stranger = make_groom().user
    rows = list(policy.card_values(Profile.objects.filter(pk=owner.pk)))

    fast = cards_from_values(stranger, rows)[0]
    slow = CardOut(owner, context=card_context(stranger, [owner])).data
    alone = CardOut(owner, context={"viewer": stranger}).data

    assert shown(fast) == shown(slow) == shown(alone) == (None, None)


def test_switching_last_seen_back_on_shows_the_bucket_again(client_for, owner):
    hide_last_seen(owner)
    chat.settings_update(user=owner.user, changes={"show_last_seen": True})

    card = client_for(make_groom().user).get(SEARCH).json()["results"][0]

    assert shown(card) == (None, "this_week")


@pytest.mark.parametrize(
    ("days_ago", "bucket"),
    [
        (0, "today"),
        (1, "this_week"),
        (6, "this_week"),
        (7, "this_month"),
        (29, "this_month"),
        (30, "earlier"),
        (400, "earlier"),
    ],
)
def test_buckets_are_local_calendar_days(days_ago, bucket):
    today = date(2026, 12, 2)
    late = timezone.make_aware(datetime(2026, 12, 2, 23, 59)) - timedelta(days=days_ago)
    early = timezone.make_aware(datetime(2026, 12, 2, 0, 1)) - timedelta(days=days_ago)

    assert selectors.activity_bucket(late, today) == selectors.activity_bucket(early, today)
    assert selectors.activity_bucket(late, today) == bucket


def test_staff_without_the_mfa_they_need_see_only_the_bucket(settings, owner):
    # Exact times are a staff power, and staff powers need staff MFA where it is required.
    settings.AURUM_ADMIN_REQUIRE_MFA = True
    staff = make_moderator()
    today = timezone.localdate()

    without = selectors.last_active_shown(
        viewer=staff, owner_id=owner.pk, moment=owner.last_active_at, hidden=False, today=today
    )
    staff.is_verified = lambda: True  # as django-otp marks a request verified by a code
    verified = selectors.last_active_shown(
        viewer=staff, owner_id=owner.pk, moment=owner.last_active_at, hidden=False, today=today
    )

    assert without == (None, selectors.Activity.THIS_WEEK)
    assert verified == (owner.last_active_at, selectors.Activity.THIS_WEEK)
