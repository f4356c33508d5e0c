from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.privacy import member_erase
from accounts.services import user_set_active
from matching import feed, scoring
from matching.models import Ignore, Interest
from moderation.models import Block
from moderation.services import block_create, block_delete
from profiles.demo import seed_members
from profiles.models import PartnerPreferences, Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

FEED = "/api/v1/matching/feed"


def born(age: int) -> Any:
    today = timezone.localdate()
    return today.replace(year=today.year - age) - timedelta(days=30)


def prefs(profile: Profile, **values: Any) -> Profile:
    PartnerPreferences.objects.filter(profile=profile).update(**values)
    return profile


def cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def groom() -> Profile:
    """28, Hindu Nair from Ernakulam, looking for a Hindu bride of 22-28 from Ernakulam."""
    groom = make_groom(date_of_birth=born(28), religion="hindu", caste="nair", district="ernakulam")
    return prefs(groom, age_min=22, age_max=28, religions=["hindu"], districts=["ernakulam"])


def test_two_way_match_ranks_first_with_its_reasons(client_for, groom):
    # fits him, and he fits her
    both = prefs(
        make_member(date_of_birth=born(25), religion="hindu", caste="nair", district="ernakulam"),
        age_min=26,
        age_max=32,
        religions=["hindu"],
        castes=["nair"],
    )
    # fits him, but she wants a Christian (90)
    one_way = prefs(
        make_member(date_of_birth=born(25), religion="hindu", caste="nair", district="ernakulam"),
        age_min=26,
        age_max=32,
        religions=["christian"],
    )
    # she would like him, but she is Muslim from Kozhikode (87), and was active last
    other_way = prefs(
        make_member(date_of_birth=born(25), religion="muslim", caste="sunni", district="kozhikode"),
        age_min=26,
        age_max=32,
    )
    Profile.objects.filter(pk=other_way.pk).update(last_active_at=timezone.now())

    found = cards(client_for(groom.user).get(FEED))

    assert [c["id"] for c in found] == [str(both.pk), str(one_way.pk), str(other_way.pk)]
    scores = [c["match_score"] for c in found]
    assert scores[0] == 100 and scores[0] > scores[1] and scores[0] > scores[2]
    assert all(0 <= s <= 100 for s in scores)
    assert found[0]["match_reasons"] == {
        "mine": ["age", "religion", "district"],
        "theirs": ["age", "religion", "caste"],
    }
    assert "religion" not in found[1]["match_reasons"]["theirs"]
    assert found[2]["match_reasons"]["mine"] == ["age"]


def test_score_is_half_mine_half_theirs(client_for, groom):
    # she fits every preference of his; she asks for a Christian (10 of her 50 points missed)
    bride = prefs(
        make_member(date_of_birth=born(25), religion="hindu", district="ernakulam"),
        age_min=26,
        age_max=32,
        religions=["christian"],
    )

    found = cards(client_for(groom.user).get(FEED))

    assert [c["id"] for c in found] == [str(bride.pk)]
    assert found[0]["match_score"] == 100 - scoring.WEIGHTS["religion"]


def test_hard_filters_age_gender_interests_blocks_ignores(client_for, groom):
    fits = make_member(date_of_birth=born(25))
    too_old = make_member(date_of_birth=born(31))
    make_groom(date_of_birth=born(25))
    in_interest, blocked, ignored = (make_member(date_of_birth=born(24)) for _ in range(3))
    Interest.objects.create(sender=in_interest.user, receiver=groom.user, status="declined")
    Block.objects.create(blocker=blocked.user, blocked=groom.user)
    Ignore.objects.create(owner=groom.user, target=ignored.user)

    found = [c["id"] for c in cards(client_for(groom.user).get(FEED))]

    assert found == [str(fits.pk)]
    assert str(too_old.pk) not in found


def test_equal_scores_go_by_recent_activity_and_pages_chain(client_for, groom):
    members = [make_member(date_of_birth=born(25), district="ernakulam") for _ in range(5)]
    now = timezone.now()
    for minutes, member in enumerate(members):
        Profile.objects.filter(pk=member.pk).update(last_active_at=now - timedelta(minutes=minutes))
    client = client_for(groom.user)

    first = client.get(FEED, {"page_size": 2})
    second = client.get(first.json()["next"])
    third = client.get(second.json()["next"])

    pages = [c["id"] for r in (first, second, third) for c in cards(r)]
    assert pages == [str(m.pk) for m in members]
    assert third.json()["next"] is None


def test_cached_page_costs_only_authentication(client_for, groom, django_assert_num_queries):
    make_member(date_of_birth=born(25))
    client = client_for(groom.user)
    first = cards(client.get(FEED))

    with django_assert_num_queries(1):  # the token's user; the page comes from the cache
        again = cards(client.get(FEED))

    assert again == first


@pytest.mark.parametrize(
    "change",
    [
        "block",
        "blocked_by_them",
        "ignore",
        "interest",
        "my_preferences",
    ],
)
def test_my_changes_refresh_the_cached_feed(
    client_for, groom, django_capture_on_commit_callbacks, change
):
    bride = make_member(date_of_birth=born(25))
    client = client_for(groom.user)
    assert [c["id"] for c in cards(client.get(FEED))] == [str(bride.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        if change == "block":
            blocked = client.post(
                "/api/v1/moderation/block", {"blocked_user_id": str(bride.pk)}, format="json"
            )
            assert blocked.status_code == 201, blocked.content
        elif change == "blocked_by_them":
            block_create(blocker=bride.user, blocked=groom.user)
        elif change == "ignore":
            assert client.post(f"/api/v1/matching/ignore/{bride.pk}").status_code == 204
        elif change == "interest":
            sent = client.post(
                "/api/v1/matching/interests", {"to_profile": str(bride.pk)}, format="json"
            )
            assert sent.status_code == 201
        elif change == "my_preferences":
            response = client.patch(
                "/api/v1/profiles/me",
                {"preferences": {"age_min": 29, "age_max": 35}},
                format="json",
            )
            assert response.status_code == 200, response.content

    assert cards(client.get(FEED)) == []


@pytest.mark.parametrize(
    "how", ["suspended", "deleted", "hidden", "back_to_verification", "held_after_reports"]
)
def test_a_member_leaving_is_gone_from_every_cached_feed(
    client_for, groom, django_capture_on_commit_callbacks, how
):
    bride = make_member(date_of_birth=born(25))
    reporters = [make_groom() for _ in range(3)]
    client = client_for(groom.user)
    assert len(cards(client.get(FEED))) == 1

    with django_capture_on_commit_callbacks(execute=True):
        if how == "suspended":
            user_set_active(actor=None, user=User.objects.get(pk=bride.pk), active=False)
        elif how == "deleted":
            member_erase(User.objects.get(pk=bride.pk))
        elif how in ("hidden", "back_to_verification"):
            change = {"is_hidden": True} if how == "hidden" else {"first_name": "Anju"}
            response = client_for(bride.user).patch(
                "/api/v1/profiles/me", {"profile": change}, format="json"
            )
            assert response.status_code == 200, response.content
        else:
            for reporter in reporters:
                reported = client_for(reporter.user).post(
                    "/api/v1/moderation/report",
                    {"reported_user": str(bride.pk), "reason": "fake_profile"},
                    format="json",
                )
                assert reported.status_code == 201, reported.content

    assert cards(client.get(FEED)) == []


@pytest.mark.parametrize("undo", ["unblock", "unignore"])
def test_undoing_a_block_or_an_ignore_refreshes_my_cached_feed(
    client_for, groom, django_capture_on_commit_callbacks, undo
):
    bride = make_member(date_of_birth=born(25))
    client = client_for(groom.user)
    with django_capture_on_commit_callbacks(execute=True):
        if undo == "unblock":
            block_create(blocker=groom.user, blocked=bride.user)
        else:
            assert client.post(f"/api/v1/matching/ignore/{bride.pk}").status_code == 204
    assert cards(client.get(FEED)) == []

    with django_capture_on_commit_callbacks(execute=True):
        if undo == "unblock":
            block_delete(blocker=groom.user, blocked=bride.user)
        else:
            assert client.delete(f"/api/v1/matching/ignore/{bride.pk}").status_code == 204

    assert [c["id"] for c in cards(client.get(FEED))] == [str(bride.pk)]


def test_other_members_editing_does_not_flush_my_feed(
    client_for, groom, django_capture_on_commit_callbacks, django_assert_num_queries
):
    make_member(date_of_birth=born(25))
    client = client_for(groom.user)
    cards(client.get(FEED))

    with django_capture_on_commit_callbacks(execute=True):
        client_for(make_groom().user).patch(
            "/api/v1/profiles/me", {"profile": {"about": "A new line about me."}}, format="json"
        )

    with django_assert_num_queries(1):
        client.get(FEED)


def test_a_newly_approved_member_shows_in_cached_feeds_when_their_time_is_up(
    client_for, groom, settings
):
    import time

    from accounts.tests.factories import make_moderator
    from onboarding.services import verification_decide

    assert settings.MATCHING_FEED_TTL <= 300  # the promise: within 5 minutes
    settings.MATCHING_FEED_TTL = 1
    client = client_for(groom.user)
    newcomer = make_member(approved=False, date_of_birth=born(25), district="ernakulam")
    assert str(newcomer.pk) not in {c["id"] for c in cards(client.get(FEED))}  # cached now

    verification_decide(reviewer=make_moderator(), member=newcomer.user, approved=True)
    time.sleep(1.1)

    assert cards(client.get(FEED))[0]["id"] == str(newcomer.pk)  # his district: ranked first


def test_feed_without_gender_is_409_and_dashboard_shows_none(client_for):
    member = make_member(gender=None)

    feed = client_for(member.user).get(FEED)
    dashboard = client_for(member.user).get("/api/v1/dashboard")

    assert feed.status_code == 409 and feed.json()["code"] == "profile_incomplete"
    assert dashboard.status_code == 200 and dashboard.json()["recommendations"] == []


def test_dashboard_recommends_the_top_of_the_feed(client_for, groom):
    for _ in range(8):
        make_member(date_of_birth=born(25))
    client = client_for(groom.user)

    dashboard = client.get("/api/v1/dashboard").json()
    feed = cards(client.get(FEED))

    assert dashboard["recommendations"] == feed[:6]
    assert {"match_score", "match_reasons", "profile_code"} <= set(feed[0])


def test_garbage_cursor_is_400(client_for, groom):
    response = client_for(groom.user).get(FEED, {"cursor": "bm9wZQ"})

    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_an_idle_best_match_still_leads(client_for, groom):
    recent = [make_member(date_of_birth=born(25)) for _ in range(3)]
    idle = make_member(date_of_birth=born(25), district="ernakulam")  # his district: he asked
    Profile.objects.filter(pk=idle.pk).update(last_active_at=timezone.now() - timedelta(days=400))

    found = [c["id"] for c in cards(client_for(groom.user).get(FEED))]

    assert found[0] == str(idle.pk) and set(found[1:]) == {str(p.pk) for p in recent}


def _ranked_by_scoring_everyone(viewer: User) -> list[Any]:
    """The feed's order computed the plain way: every candidate scored, then sorted."""
    pool, me = feed.feed_candidates(viewer=viewer)
    ranked = pool.annotate(match_score=scoring.annotations(me)["match_score"])
    return list(ranked.order_by(*feed.FEED_KEYSET.fields).values_list("pk", flat=True))


def test_every_page_is_the_exhaustive_ranking_forward_and_back():
    # Choosy members, as seed_demo's realistic mode makes them: most candidates fall short of
    # 100 in different ways, so pages are found at every budget, down to the last.
    seed_members(count=240, seed=3, password_hash="!", realistic=True)
    viewers = list(User.objects.filter(email__endswith=".s3@demo.aurum.test").order_by("email"))
    budgets_used: set[int] = set()
    for viewer in viewers[:12]:
        truth = _ranked_by_scoring_everyone(viewer)
        forward, cursors, cursor = [], [], None
        while True:
            page = feed.feed_rows_page(viewer=viewer, cursor=cursor, size=7)
            forward += [row["user_id"] for row in page.rows]
            budgets_used |= {100 - row["match_score"] for row in page.rows}
            cursors.append(page.previous)
            if page.next is None:
                break
            cursor = page.next
        assert forward == truth
        back: list[Any] = []
        for previous in reversed(cursors[1:]):
            back = [row["user_id"] for row in feed.feed_rows_page(
                viewer=viewer, cursor=previous, size=7
            ).rows] + back  # fmt: skip
        assert back == truth[: len(back)] and len(back) >= len(truth) - 7
    assert max(budgets_used) > max(b for b in feed.BUDGETS if b < 100)  # the last budget ran


def test_a_candidate_without_preferences_is_open_to_everyone(client_for, groom):
    bride = make_member(date_of_birth=born(25), religion="hindu", district="ernakulam")
    PartnerPreferences.objects.filter(profile=bride).delete()

    found = cards(client_for(groom.user).get(FEED))

    assert [c["id"] for c in found] == [str(bride.pk)]
    assert found[0]["match_score"] == 100
    assert found[0]["match_reasons"]["theirs"] == []


def test_an_evicted_version_never_revives_a_stale_page(
    client_for, groom, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from matching.feed import _member_version

    bride = make_member(date_of_birth=born(25))
    client = client_for(groom.user)
    assert len(cards(client.get(FEED))) == 1
    with django_capture_on_commit_callbacks(execute=True):
        block_create(blocker=groom.user, blocked=bride.user)
    cache.delete(_member_version(groom.pk))  # the cache dropped the bumped version

    assert cards(client.get(FEED)) == []


def test_a_report_that_hides_no_one_keeps_every_cached_feed(
    client_for, groom, django_capture_on_commit_callbacks, django_assert_num_queries
):
    bride = make_member(date_of_birth=born(25))
    client = client_for(groom.user)
    cards(client.get(FEED))

    with django_capture_on_commit_callbacks(execute=True):
        reported = client_for(make_groom().user).post(
            "/api/v1/moderation/report",
            {"reported_user": str(bride.pk), "reason": "other", "details": "Odd replies."},
            format="json",
        )
    assert reported.status_code == 201, reported.content

    with django_assert_num_queries(1):
        assert len(cards(client.get(FEED))) == 1


def test_the_list_match_adds_no_lookup_to_other_apps_json_columns():
    """`scoring.HasItem` is matching's expression, not a lookup on every `JSONField`: another
    app's JSON column still reads `__has_item` as a key, as Django does for any unknown
    name."""
    from django.db.models import JSONField

    from accounts.models import AuditLog
    from accounts.services import audit_record

    keyed = audit_record(action="login_success", metadata={"has_item": "x"})
    audit_record(action="login_success", metadata={"note": "x"})

    found = set(AuditLog.objects.filter(metadata__has_item="x").values_list("pk", flat=True))

    assert found == {keyed.pk}
    assert "has_item" not in JSONField.get_lookups()
