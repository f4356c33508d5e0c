from __future__ import annotations

import pytest

from accounts.models import AuditAction, AuditLog, User
from accounts.tests.factories import PASSWORD, UserFactory, make_moderator
from aurum.errors import DomainError
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member, sections_payload

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/onboarding/signup"


def complete(user_id: object) -> str:
    return f"/api/v1/onboarding/complete-profile/{user_id}"


def status_of(user_id: object) -> str:
    return f"/api/v1/onboarding/verification-status/{user_id}"


def verify(user_id: object, approved: str) -> str:
    return f"/api/v1/onboarding/admin/verify-user/{user_id}?approved={approved}"


def signup(api, **body):
    payload = {
        "phone": "9447012345",
        "password": PASSWORD,
        "first_name": "Anjali",
        "last_name": "Nair",
        **body,
    }
    return api.post(SIGNUP, payload, format="json")


def test_signup_creates_account_and_empty_profile(api):
    response = signup(api, whatsapp="9847099999", created_by="parent", email="a@example.com")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"user_id", "profile_code", "message"}
    profile = Profile.objects.select_related("user").get(pk=body["user_id"])
    assert profile.user.phone == "+919447012345"
    assert profile.whatsapp == "+919847099999"
    assert profile.created_by == "parent"
    assert profile.verification_status == "NotSubmitted"


def test_signup_member_can_log_in_before_verification(api):
    signup(api)

    response = api.post(
        "/api/v1/auth/login", {"identifier": "9447012345", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["user"]["admin_approved"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": ""}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"password": "short"}, "password"),
        ({"created_by": "neighbour"}, "created_by"),
        ({"whatsapp": "not-a-number"}, "whatsapp"),
        ({"role": "admin"}, "role"),
    ],
)
def test_signup_bad_input_stores_nothing(api, body, field):
    response = signup(api, **body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert User.objects.count() == 0 and Profile.objects.count() == 0


def test_signup_duplicate_phone_is_409_and_stores_nothing(api):
    UserFactory(phone="+919447012345")

    response = signup(api)

    assert response.status_code == 409
    assert Profile.objects.count() == 0


def test_signup_is_rate_limited_like_register(api, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "register_ip": "1/h"}

    first = signup(api)
    second = signup(api, phone="9447012346")

    assert first.status_code == 201 and second.status_code == 429


def test_complete_profile_writes_every_section_and_queues(api, client_for):
    user_id = signup(api).json()["user_id"]
    user = User.objects.get(pk=user_id)

    response = client_for(user).post(complete(user_id), sections_payload(), format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["completion"] == 90
    assert body["verification_status"] == "Pending"
    assert body["career"]["annual_income_inr"] == 1200000
    status = client_for(user).get(status_of(user_id)).json()
    assert status["verification_status"] == "Pending" and status["submitted_at"]
    assert status["admin_approved"] is False


def test_complete_profile_needs_every_section(api, client_for):
    user_id = signup(api).json()["user_id"]
    body = sections_payload()
    del body["family"]

    response = client_for(User.objects.get(pk=user_id)).post(complete(user_id), body, format="json")

    assert response.status_code == 400
    assert "family" in response.json()["fields"]


@pytest.mark.parametrize(
    ("change", "section", "field"),
    [
        ({"caste": "syro_malabar"}, "profile", "caste"),
        ({"date_of_birth": "2015-01-01"}, "profile", "date_of_birth"),
        ({"height_cm": 90}, "profile", "height_cm"),
        ({"religion": "zoroastrian"}, "profile", "religion"),
    ],
)
def test_complete_profile_bad_input_writes_nothing(api, client_for, change, section, field):
    user_id = signup(api).json()["user_id"]
    user = User.objects.get(pk=user_id)

    response = client_for(user).post(complete(user_id), sections_payload(**change), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"][section]
    profile = Profile.objects.get(pk=user_id)
    assert profile.gender is None and profile.verification_status == "NotSubmitted"
    assert (
        not hasattr(profile, "education")
        or not Profile.objects.filter(pk=user_id, education__isnull=False).exists()
    )


def test_preferences_age_order_is_checked(api, client_for):
    user_id = signup(api).json()["user_id"]
    body = sections_payload()
    body["preferences"] = {"age_min": 35, "age_max": 25}

    response = client_for(User.objects.get(pk=user_id)).post(complete(user_id), body, format="json")

    assert response.status_code == 400
    assert "age_min" in response.json()["fields"]["preferences"]


def test_another_members_id_is_404_and_changes_nothing(api, client_for):
    victim_id = signup(api).json()["user_id"]
    intruder = make_groom()

    posted = client_for(intruder.user).post(complete(victim_id), sections_payload(), format="json")
    read = client_for(intruder.user).get(status_of(victim_id))

    assert posted.status_code == 404 and read.status_code == 404
    assert Profile.objects.get(pk=victim_id).gender is None


def test_staff_may_complete_a_members_profile(api, client_for):
    user_id = signup(api).json()["user_id"]

    response = client_for(make_moderator()).post(
        complete(user_id), sections_payload(), format="json"
    )

    assert response.status_code == 200


# --- staff ------------------------------------------------------------------------------------


def queued_member(api, client_for, phone: str) -> str:
    user_id = signup(api, phone=phone).json()["user_id"]
    client_for(User.objects.get(pk=user_id)).post(
        complete(user_id), sections_payload(), format="json"
    )
    return user_id


def test_queue_is_staff_only_and_oldest_first(api, client_for):
    first = queued_member(api, client_for, "9447000011")
    second = queued_member(api, client_for, "9447000012")
    member = make_groom()

    as_member = client_for(member.user).get("/api/v1/onboarding/admin/pending-verifications")
    as_staff = client_for(make_moderator()).get("/api/v1/onboarding/admin/pending-verifications")

    assert as_member.status_code == 403
    assert as_staff.status_code == 200
    ids = [item["user_id"] for item in as_staff.json()["results"]]
    assert ids == [first, second]
    assert "next" in as_staff.json()


def test_approval_makes_member_visible_audits_and_notifies(api, client_for):
    from notifications.models import Notification

    user_id = queued_member(api, client_for, "9447000011")
    groom = make_groom()
    moderator = make_moderator()
    assert client_for(groom.user).get(f"/api/v1/profiles/{user_id}").status_code == 404

    response = client_for(moderator).post(verify(user_id, "true"), {"notes": "ok"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["verification_status"] == "Approved"
    assert response.json()["admin_approved"] is True
    assert client_for(groom.user).get(f"/api/v1/profiles/{user_id}").status_code == 200
    record = AuditLog.objects.get(action=AuditAction.VERIFICATION_DECISION)
    assert record.actor == moderator and record.metadata["approved"] is True
    note = Notification.objects.get(recipient_id=user_id)
    assert note.kind == "verification_approved"


def test_rejection_keeps_member_hidden_and_lets_them_resubmit(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")
    member = User.objects.get(pk=user_id)

    rejected = client_for(make_moderator()).post(
        verify(user_id, "false"), {"notes": "Photo does not match"}, format="json"
    )
    seen = client_for(member).get(status_of(user_id)).json()
    again = client_for(member).post(complete(user_id), sections_payload(), format="json")

    assert rejected.status_code == 200
    assert seen["verification_status"] == "Rejected"
    assert seen["admin_notes"] == "Photo does not match"
    assert again.json()["verification_status"] == "Pending"


def test_rejection_needs_notes(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")

    response = client_for(make_moderator()).post(verify(user_id, "false"), {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "notes_required"


@pytest.mark.parametrize("approved", ["", "yes", "1"])
def test_verify_needs_a_clear_decision(api, client_for, approved):
    user_id = queued_member(api, client_for, "9447000011")

    response = client_for(make_moderator()).post(verify(user_id, approved), {}, format="json")

    assert response.status_code == 400
    assert Profile.objects.get(pk=user_id).verification_status == "Pending"


def test_member_cannot_verify(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")
    member = User.objects.get(pk=user_id)

    response = client_for(member).post(verify(user_id, "true"), {}, format="json")

    assert response.status_code == 403
    assert Profile.objects.get(pk=user_id).verification_status == "Pending"


def test_unsubmitted_profile_cannot_be_decided(api, client_for):
    user_id = signup(api).json()["user_id"]

    response = client_for(make_moderator()).post(verify(user_id, "true"), {}, format="json")

    assert response.status_code == 409


def test_no_response_to_another_member_carries_contact_details(api, client_for):
    bride = make_member()
    make_member(user=UserFactory(), approved=True)
    groom = make_groom()
    client = client_for(groom.user)
    secrets = [bride.user.phone, bride.user.email]

    bodies = [
        client.get(f"/api/v1/profiles/{bride.user_id}").content,
        client.get(f"/api/v1/profiles/{bride.user.profile_code}").content,
        client.get(status_of(bride.user_id)).content,
        client.post(complete(bride.user_id), sections_payload(), format="json").content,
        client.get("/api/v1/dashboard").content,
    ]

    for body in bodies:
        for secret in secrets:
            assert secret.encode() not in body


def test_moderator_cannot_verify_their_own_profile(api, client_for):
    moderator = make_moderator()
    make_member(user=moderator, approved=False)  # a moderator who is also a member
    client = client_for(moderator)

    response = client.post(verify(moderator.pk, "true"), {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "own_account"


def test_only_pending_profiles_are_decided(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")
    moderator = client_for(make_moderator())
    moderator.post(verify(user_id, "false"), {"notes": "Blurry photo"}, format="json")

    again = moderator.post(verify(user_id, "true"), {}, format="json")

    assert again.status_code == 409
    assert again.json()["code"] == "not_pending"
    assert AuditLog.objects.filter(action=AuditAction.VERIFICATION_DECISION).count() == 1


def test_another_members_id_with_a_bad_body_is_still_404(api, client_for):
    victim_id = signup(api).json()["user_id"]

    response = client_for(make_groom().user).post(complete(victim_id), {"junk": 1}, format="json")

    assert response.status_code == 404


def test_resubmitting_while_pending_keeps_the_queue_place(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")
    first = Profile.objects.get(pk=user_id).submitted_at

    client_for(User.objects.get(pk=user_id)).post(
        complete(user_id), sections_payload(), format="json"
    )

    assert Profile.objects.get(pk=user_id).submitted_at == first


def test_resubmission_after_rejection_clears_the_old_review(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")
    client_for(make_moderator()).post(verify(user_id, "false"), {"notes": "Fix"}, format="json")

    client_for(User.objects.get(pk=user_id)).post(
        complete(user_id), sections_payload(), format="json"
    )

    profile = Profile.objects.get(pk=user_id)
    assert profile.verification_status == "Pending"
    assert profile.admin_notes == "" and profile.reviewed_at is None


def test_queue_leaves_out_suspended_members(api, client_for):
    user_id = queued_member(api, client_for, "9447000011")
    User.objects.filter(pk=user_id).update(is_active=False)

    body = client_for(make_moderator()).get("/api/v1/onboarding/admin/pending-verifications").json()

    assert body["results"] == []


@pytest.mark.parametrize("rows", [1, 20])
def test_queue_query_count_does_not_grow_with_rows(client_for, django_assert_num_queries, rows):
    from datetime import timedelta

    from django.utils import timezone

    for i in range(rows):
        profile = make_member(approved=False)
        Profile.objects.filter(pk=profile.pk).update(
            verification_status="Pending", submitted_at=timezone.now() - timedelta(minutes=i)
        )
    client = client_for(make_moderator())

    # The token's user, whether the moderator has an authenticator (the staff-MFA rule), the
    # page of the queue.
    with django_assert_num_queries(3):
        response = client.get("/api/v1/onboarding/admin/pending-verifications")

    assert len(response.json()["results"]) == rows


def test_no_contact_details_or_birth_date_reach_another_member(api, client_for):
    bride = make_member(whatsapp="+919447055555")
    groom = make_groom()
    client = client_for(groom.user)
    secrets = [bride.user.phone, bride.user.email, "+919447055555", "1996-04-14"]

    bodies = [
        client.get(f"/api/v1/profiles/{bride.user_id}").content,
        client.get(f"/api/v1/profiles/{bride.user.profile_code}").content,
    ]

    for body in bodies:
        for secret in secrets:
            assert secret.encode() not in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_moderators_deciding_at_once_end_in_one_decision():
    import threading

    from django.db import connection

    from onboarding import services

    member = make_member(approved=False)
    Profile.objects.filter(pk=member.pk).update(verification_status="Pending")
    moderators = [make_moderator(), make_moderator()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(moderator, approved: bool) -> None:
        barrier.wait()
        try:
            services.verification_decide(
                reviewer=moderator, member=member.user, approved=approved, notes="n"
            )
            outcomes.append("decided")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(moderators[0], True)),
        threading.Thread(target=decide, args=(moderators[1], False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(map(str, outcomes)) == ["decided", "not_pending"]
    assert AuditLog.objects.filter(action=AuditAction.VERIFICATION_DECISION).count() == 1
    profile = Profile.objects.select_related("user").get(pk=member.pk)
    assert profile.user.admin_approved == (profile.verification_status == "Approved")


def test_a_staff_edit_of_a_profile_is_audited_with_the_fields_it_changed(client_for):
    from accounts.models import AuditAction, AuditLog
    from profiles.tests.factories import make_groom, sections_payload

    groom = make_groom(about="Software engineer at Infopark.")
    moderator = make_moderator()
    body = sections_payload(gender="male", about="Edited by the support desk.")
    own = client_for(groom.user).post(
        f"/api/v1/onboarding/complete-profile/{groom.user_id}", body, format="json"
    )
    assert own.status_code == 200
    assert not AuditLog.objects.filter(action=AuditAction.PROFILE_EDITED_BY_STAFF).exists()
    body["profile"]["about"] = "Edited again, by a moderator."
    body["career"]["employer"] = "Technopark"

    response = client_for(moderator).post(
        f"/api/v1/onboarding/complete-profile/{groom.user_id}", body, format="json"
    )

    assert response.status_code == 200
    record = AuditLog.objects.get(action=AuditAction.PROFILE_EDITED_BY_STAFF)
    assert record.actor == moderator and record.target_id == str(groom.user_id)
    assert record.metadata == {"fields": ["career.employer", "profile.about"]}


def test_staff_cannot_change_a_members_whatsapp(client_for):
    from profiles.models import Profile
    from profiles.tests.factories import make_groom, sections_payload

    groom = make_groom(whatsapp="+919847011111")

    response = client_for(make_moderator()).post(
        f"/api/v1/onboarding/complete-profile/{groom.user_id}",
        sections_payload(gender="male", whatsapp="+919999988888"),
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "contact_details_member_only"
    assert Profile.objects.get(pk=groom.pk).whatsapp == "+919847011111"
