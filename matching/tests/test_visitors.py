from __future__ import annotations

import pytest

from matching.models import ProfileVisit
from moderation.models import Block
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

VISITORS = "/api/v1/matching/visitors"


def look(client_for, viewer, owner):
    return client_for(viewer.user).get(f"/api/v1/profiles/{owner.user.profile_code}")


def test_a_visit_is_recorded_once_a_day_and_listed(client_for):
    bride, groom, other = make_member(), make_groom(), make_groom()

    for _ in range(3):
        assert look(client_for, groom, bride).status_code == 200
    look(client_for, other, bride)
    listed = client_for(bride.user).get(VISITORS)

    assert ProfileVisit.objects.filter(owner=bride.user).count() == 2
    assert listed.status_code == 200
    assert [v["profile"]["id"] for v in listed.json()["results"]] == [
        str(other.pk),
        str(groom.pk),
    ]
    assert listed.json()["results"][0]["visited_at"]


def test_own_views_staff_views_and_refused_views_are_not_visits(client_for):
    from accounts.tests.factories import make_moderator

    bride, blocked = make_member(), make_groom()
    Block.objects.create(blocker=bride.user, blocked=blocked.user)

    look(client_for, bride, bride)
    client_for(make_moderator()).get(f"/api/v1/profiles/{bride.user_id}")
    assert look(client_for, blocked, bride).status_code == 404

    assert ProfileVisit.objects.count() == 0


def test_visitors_i_may_not_see_are_left_out(client_for):
    bride, groom, later_blocked = make_member(), make_groom(), make_groom()
    look(client_for, groom, bride)
    look(client_for, later_blocked, bride)
    Block.objects.create(blocker=bride.user, blocked=later_blocked.user)

    listed = client_for(bride.user).get(VISITORS).json()["results"]

    assert [v["profile"]["id"] for v in listed] == [str(groom.pk)]


def test_visitor_list_query_count_is_pinned(client_for, django_assert_num_queries):
    bride = make_member()
    for _ in range(5):
        look(client_for, make_groom(), bride)
    client = client_for(bride.user)

    # token user, the page with the visitors' cards joined, the page's photos (rule + photos),
    # who of them hides their last seen
    with django_assert_num_queries(5):
        client.get(VISITORS)
