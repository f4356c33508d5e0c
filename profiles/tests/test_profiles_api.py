from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

import policy
from accounts.models import User
from accounts.tests.factories import UserFactory, make_moderator
from profiles import selectors
from profiles.choices import ALL_CASTES, STARS, District
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

ME = "/api/v1/profiles/me"


def detail(public_id: object) -> str:
    return f"/api/v1/profiles/{public_id}"


# --- choices ----------------------------------------------------------------------------------


def test_choices_serve_kerala_master_data(api):
    response = api.get("/api/v1/profiles/choices")

    assert response.status_code == 200
    body = response.json()
    assert (
        len([d for d in body["districts"] if d["value"] not in {"outside_kerala", "abroad"}]) == 14
    )
    assert len(body["stars"]) == 27 == len(STARS)
    assert body["mother_tongues"][0]["value"] == "malayalam"
    hindu = {c["value"] for c in body["castes_by_religion"]["hindu"]}
    christian = {c["value"] for c in body["castes_by_religion"]["christian"]}
    muslim = {c["value"] for c in body["castes_by_religion"]["muslim"]}
    assert {"nair", "ezhava", "thiyya", "namboothiri", "vishwakarma"} <= hindu
    assert {
        "syro_malabar",
        "latin_catholic",
        "malankara_orthodox",
        "jacobite",
        "mar_thoma",
        "csi",
        "pentecostal",
    } <= christian
    assert {"sunni", "mujahid", "jamaat_e_islami"} <= muslim
    assert "awaiting_divorce" in {m["value"] for m in body["marital_statuses"]}
    assert {c["value"] for c in body["created_by"]} == {
        "self",
        "parent",
        "sibling",
        "relative",
        "friend",
    }
    assert body["legal_min_age"] == {"female": 18, "male": 21}
    assert "തിരുവോണം" in json.dumps(body, ensure_ascii=False)
    assert set(ALL_CASTES) >= hindu | christian | muslim


# --- own profile ------------------------------------------------------------------------------


def test_own_profile_has_everything_and_completion(client_for):
    profile = make_member()

    body = client_for(profile.user).get(ME).json()

    assert body["id"] == str(profile.user_id)
    assert body["date_of_birth"] == "1996-04-14"
    assert body["contact"]["phone"] == profile.user.phone
    assert body["education"]["level"] == "masters"
    assert body["preferences"]["age_min"] == 25
    assert body["photo_visibility"] == "all_members" and body["is_hidden"] is False
    assert body["verification_status"] == "Approved"
    assert body["completion"] == 90  # everything but the photo
    assert body["next_step"] == "Add a photo."


def test_patch_updates_sections_partially(client_for):
    profile = make_member()
    client = client_for(profile.user)

    response = client.patch(
        ME,
        {"profile": {"city": "Kochi", "is_hidden": True}, "career": {"annual_income_inr": 1500000}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Kochi"
    assert response.json()["is_hidden"] is True
    assert response.json()["career"]["annual_income_inr"] == 1500000
    assert response.json()["career"]["occupation"] == "government"  # untouched


def test_patch_caste_of_another_religion_is_refused_and_nothing_changes(client_for):
    profile = make_member(religion="hindu", caste="nair")

    response = client_for(profile.user).patch(
        ME, {"profile": {"religion": "christian"}}, format="json"
    )

    assert response.status_code == 400
    assert "caste" in response.json()["fields"]["profile"]
    profile.refresh_from_db()
    assert profile.religion == "hindu"


@pytest.mark.parametrize(
    ("gender", "years", "ok"),
    [("female", 18, True), ("female", 17, False), ("male", 21, True), ("male", 20, False)],
)
def test_legal_age_to_marry(client_for, gender, years, ok):
    profile = make_member()
    today = date.today()
    born = date(today.year - years, 1, 1) if (today.month, today.day) >= (1, 1) else None

    response = client_for(profile.user).patch(
        ME, {"profile": {"gender": gender, "date_of_birth": str(born)}}, format="json"
    )

    assert (response.status_code == 200) is ok, response.content
    if not ok:
        assert "date_of_birth" in response.json()["fields"]["profile"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"profile": {"height_cm": 300}}, ("profile", "height_cm")),
        ({"profile": {"district": "atlantis"}}, ("profile", "district")),
        ({"profile": {"star": "sirius"}}, ("profile", "star")),
        ({"profile": {"favourite_colour": "blue"}}, ("profile", "favourite_colour")),
        ({"preferences": {"age_min": 40, "age_max": 30}}, ("preferences", "age_min")),
        (
            {"preferences": {"height_min_cm": 180, "height_max_cm": 150}},
            ("preferences", "height_min_cm"),
        ),
        ({"preferences": {"religions": ["hindu", "pastafarian"]}}, ("preferences", "religions")),
        ({"preferences": {"age_min": 12}}, ("preferences", "age_min")),
        ({"career": {"annual_income_inr": -5}}, ("career", "annual_income_inr")),
        ({"hobbies": {}}, ("hobbies", None)),
    ],
)
def test_patch_bad_input_is_400_and_changes_nothing(client_for, body, where):
    profile = make_member()
    before = Profile.objects.filter(pk=profile.pk).values().get()

    response = client_for(profile.user).patch(ME, body, format="json")

    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    section, field = where
    assert section in fields
    if field:
        assert field in fields[section]
    assert Profile.objects.filter(pk=profile.pk).values().get() == before


def test_identity_change_after_approval_sends_member_back_to_queue(client_for, api):
    bride = make_member()
    groom = make_groom()
    assert client_for(groom.user).get(detail(bride.user_id)).status_code == 200

    response = client_for(bride.user).patch(ME, {"profile": {"first_name": "Anju"}}, format="json")

    assert response.status_code == 200
    assert response.json()["verification_status"] == "Pending"
    bride.user.refresh_from_db()
    assert bride.user.admin_approved is False
    assert client_for(groom.user).get(detail(bride.user_id)).status_code == 404


def test_harmless_change_keeps_approval(client_for):
    bride = make_member()

    client_for(bride.user).patch(ME, {"profile": {"about": "x" * 60}}, format="json")

    bride.user.refresh_from_db()
    assert bride.user.admin_approved is True


# --- another member's profile -----------------------------------------------------------------


def test_member_sees_approved_member_without_contact_details(client_for):
    bride, groom = make_member(), make_groom()

    response = client_for(groom.user).get(detail(bride.user_id))

    assert response.status_code == 200
    body = response.json()
    assert body["contact"] is None
    assert "date_of_birth" not in body
    raw = response.content.decode()
    assert bride.user.phone not in raw and bride.user.email not in raw
    assert body["age"] == selectors.age_on(date(1996, 4, 14))


def test_profile_code_works_as_id_in_any_case(client_for):
    bride, groom = make_member(), make_groom()

    response = client_for(groom.user).get(detail(bride.user.profile_code.lower()))

    assert response.status_code == 200
    assert response.json()["id"] == str(bride.user_id)


@pytest.mark.parametrize("state", ["unapproved", "hidden", "suspended", "unknown", "garbage"])
def test_invisible_profiles_are_404(client_for, state):
    groom = make_groom()
    bride = make_member(approved=state != "unapproved", is_hidden=state == "hidden")
    if state == "suspended":
        User.objects.filter(pk=bride.user_id).update(is_active=False)
    target = {
        "unknown": "00000000-0000-0000-0000-000000000000",
        "garbage": "not-an-id",
    }.get(state, bride.user_id)

    response = client_for(groom.user).get(detail(target))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_staff_see_any_profile_with_contact(client_for):
    bride = make_member(approved=False)

    body = client_for(make_moderator()).get(detail(bride.user_id)).json()

    assert body["contact"]["phone"] == bride.user.phone


def test_an_accepted_interest_opens_contact_details(client_for):
    from matching import services as matching

    bride, groom = make_member(), make_groom()
    interest = matching.interest_send(sender=groom.user, receiver=bride.user)
    before = client_for(groom.user).get(detail(bride.user_id)).json()["contact"]

    matching.interest_accept(user=bride.user, interest=interest)
    body = client_for(groom.user).get(detail(bride.user_id)).json()

    assert before is None
    assert body["contact"] == {
        "phone": bride.user.phone,
        "email": bride.user.email,
        "whatsapp": None,
    }


def test_a_block_hides_both_ways_in_both_forms_of_the_rule(client_for):
    from moderation.services import block_create

    bride, groom = make_member(), make_groom()
    pair = (groom.user_id, bride.user_id)
    assert policy.visible_pairs({pair}) == {frozenset(pair)}

    block_create(blocker=bride.user, blocked=groom.user)
    there = client_for(groom.user).get(detail(bride.user_id)).status_code
    back = client_for(bride.user).get(detail(groom.user_id)).status_code

    assert there == back == 404
    assert policy.visible_pairs({pair}) == set()
    assert not policy.visible_profiles(viewer=groom.user).filter(pk=bride.pk).exists()
    assert not policy.visible_profiles(viewer=bride.user).filter(pk=groom.pk).exists()


# --- dashboard --------------------------------------------------------------------------------


def test_dashboard_shows_own_profile_and_completion(client_for):
    profile = make_member()

    body = client_for(profile.user).get("/api/v1/dashboard").json()

    assert body["profile"]["id"] == str(profile.user_id)
    assert body["completion"] == 90
    assert set(body) >= {"recommendations", "interests", "recent_chats", "unread_notifications"}


@pytest.mark.parametrize(
    ("statuses", "shown", "step_done"),
    [
        ((), None, False),
        (("rejected",), None, True),  # a photo was given: the step is done, nothing shows
        (("rejected", "pending"), "pending", True),  # her own pending photo shows to her
        (("approved", "pending"), "approved", True),
    ],
)
def test_own_profile_shows_her_first_photo_and_its_completion_step(
    client_for, statuses, shown, step_done
):
    from media.tests.factories import make_photo

    profile = make_member()
    for position, status in enumerate(statuses):
        make_photo(profile, status, position=position)

    for body in (
        client_for(profile.user).get(ME).json(),
        client_for(profile.user).get("/api/v1/dashboard").json()["profile"],
    ):
        photo = body["photo"]
        if shown is None:
            assert photo is None
        else:  # the rendition's key ends the signed URL's path: t/<status> of the one shown
            assert photo["tiny_url"].split("?")[0].endswith(f"t/{shown}")
        assert body["completion_sections"]["photo"] is step_done


def test_profiles_need_a_token(api):
    assert api.get(ME).status_code == 401
    assert api.get(detail(UserFactory().pk)).status_code == 401


def test_districts_are_keralas_fourteen():
    kerala = [d for d in District.values if d not in {"outside_kerala", "abroad"}]
    assert len(kerala) == 14


def test_member_registered_through_auth_gets_an_empty_profile(client_for):
    user = UserFactory()

    response = client_for(user).get(ME)

    assert response.status_code == 200
    assert response.json()["verification_status"] == "NotSubmitted"
    assert response.json()["completion"] == 0


def test_staff_have_no_member_profile(client_for):
    response = client_for(make_moderator()).get(ME)

    assert response.status_code == 404
    assert response.json()["code"] == "no_profile"


@pytest.mark.parametrize("bad", ["%00", "AU%00%00", "x" * 300, "AU12345", "AUOOOOOO"])
def test_malformed_ids_are_404(client_for, bad):
    groom = make_groom()

    assert client_for(groom.user).get(f"/api/v1/profiles/{bad}").status_code == 404


def test_an_empty_section_does_not_count_towards_completion(client_for):
    user = UserFactory()
    client = client_for(user)

    before = client.get(ME).json()["completion"]
    after = client.patch(ME, {"family": {}}, format="json").json()["completion"]

    assert before == after == 0


def test_login_records_last_activity(api):
    from accounts.tests.factories import PASSWORD

    bride = make_member()
    long_ago = timezone.now() - timedelta(days=40)
    Profile.objects.filter(pk=bride.pk).update(last_active_at=long_ago)

    api.post(
        "/api/v1/auth/login", {"identifier": bride.user.email, "password": PASSWORD}, format="json"
    )

    bride.refresh_from_db()
    assert bride.last_active_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.parametrize("photos", ["all_members", "accepted_interests"])
def test_profile_detail_query_count_is_pinned(client_for, django_assert_num_queries, photos):
    from matching import services as matching

    bride, groom = make_member(photo_visibility=photos), make_groom()
    matching.interest_accept(
        user=bride.user, interest=matching.interest_send(sender=groom.user, receiver=bride.user)
    )
    client = client_for(groom.user)

    # token user; the visible profile with its sections (the visibility rule, once); the
    # accepted interest that opens contact details and kept photos (once, for both); the
    # primary photo; matching's record of the visit
    with django_assert_num_queries(5):
        body = client.get(detail(bride.user_id)).json()
    assert body["contact"]["email"] == bride.user.email
    # a second look the same day: the visit is remembered, nothing is written
    with django_assert_num_queries(4):
        again = client.get(detail(bride.user_id)).json()
    assert again["id"] == body["id"]


def test_profile_detail_by_profile_code_and_of_oneself(client_for, django_assert_num_queries):
    bride = make_member(is_hidden=True)  # hidden: only she (and staff) may open it
    client = client_for(bride.user)

    with django_assert_num_queries(3):  # token user, the profile, the photo
        body = client.get(detail(bride.user.profile_code.lower())).json()
    assert body["id"] == str(bride.pk) and body["contact"]["email"] == bride.user.email
    assert client_for(make_groom().user).get(detail(bride.user.profile_code)).status_code == 404


def test_dashboard_counts_unread_notifications(client_for):
    from notifications.services import notify

    profile = make_member()
    notify(recipient=profile.user, kind="warning", title="One")
    notify(recipient=profile.user, kind="warning", title="Two")

    body = client_for(profile.user).get("/api/v1/dashboard").json()

    assert body["unread_notifications"] == 2
