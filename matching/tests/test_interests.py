from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import User
from matching.models import Interest, Shortlist
from moderation.models import Block
from notifications.models import Notification
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

INTERESTS = "/api/v1/matching/interests"


def send(client_for, sender, receiver, **body):
    return client_for(sender.user).post(
        INTERESTS, {"to_profile": str(receiver.user_id), **body}, format="json"
    )


def act(client_for, who, interest_id, action):
    return client_for(who.user).post(f"{INTERESTS}/{interest_id}/{action}")


def test_send_then_accept_opens_contact_details(client_for):
    bride, groom = make_member(), make_groom()

    sent = send(client_for, groom, bride, message="Namaskaram")
    inbox = client_for(bride.user).get(INTERESTS, {"direction": "received", "status": "pending"})
    hidden = client_for(groom.user).get(f"/api/v1/profiles/{bride.user_id}").json()["contact"]
    accepted = act(client_for, bride, sent.json()["id"], "accept")
    shown = client_for(groom.user).get(f"/api/v1/profiles/{bride.user_id}").json()["contact"]

    assert sent.status_code == 201
    assert sent.json()["from_profile"] == str(groom.user_id)
    assert sent.json()["to_profile"] == str(bride.user_id)
    assert [i["id"] for i in inbox.json()["results"]] == [sent.json()["id"]]
    assert inbox.json()["results"][0]["other"]["profile_code"] == groom.user.profile_code
    assert hidden is None
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert shown["phone"] == bride.user.phone
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"interest_received", "interest_accepted"} <= kinds


def test_second_pending_interest_is_409(client_for):
    bride, groom = make_member(), make_groom()
    send(client_for, groom, bride)

    again = send(client_for, groom, bride)

    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    assert Interest.objects.count() == 1


def test_sending_back_accepts(client_for):
    bride, groom = make_member(), make_groom()
    send(client_for, groom, bride)

    back = send(client_for, bride, groom)

    assert back.status_code == 201 and back.json()["status"] == "accepted"
    assert Interest.objects.count() == 1


def test_decline_and_withdraw_belong_to_the_right_member(client_for):
    bride, groom = make_member(), make_groom()
    interest_id = send(client_for, groom, bride).json()["id"]

    assert act(client_for, groom, interest_id, "accept").status_code == 404  # the sender
    assert act(client_for, bride, interest_id, "withdraw").status_code == 404  # the receiver
    assert act(client_for, bride, interest_id, "decline").json()["status"] == "declined"
    assert act(client_for, bride, interest_id, "accept").status_code == 409


def test_after_a_decline_the_member_who_declined_may_send(client_for):
    bride, groom = make_member(), make_groom()
    interest_id = send(client_for, groom, bride).json()["id"]
    act(client_for, bride, interest_id, "decline")

    again = send(client_for, bride, groom)

    assert again.status_code == 201 and again.json()["status"] == "pending"
    assert again.json()["from_profile"] == str(bride.user_id)


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("self", 400, "self"),
        ("same_gender", 400, "same_gender"),
        ("unapproved", 404, "not_found"),
        ("hidden", 404, "not_found"),
        ("suspended", 404, "not_found"),
        ("blocked_by_me", 404, "not_found"),
        ("blocking_me", 404, "not_found"),
        ("unknown", 404, "not_found"),
        ("garbage", 404, "not_found"),
    ],
)
def test_bad_targets(client_for, target, status, code):
    groom = make_groom()
    others = {
        "same_gender": make_groom(),
        "unapproved": make_member(approved=False),
        "hidden": make_member(is_hidden=True),
        "suspended": make_member(),
        "blocked_by_me": make_member(),
        "blocking_me": make_member(),
    }
    User.objects.filter(pk=others["suspended"].pk).update(is_active=False)
    Block.objects.create(blocker=groom.user, blocked=others["blocked_by_me"].user)
    Block.objects.create(blocker=others["blocking_me"].user, blocked=groom.user)
    to = {
        "self": str(groom.user_id),
        "unknown": "AU222222",
        "garbage": "x" * 64,
        **{name: str(p.user_id) for name, p in others.items()},
    }[target]

    response = client_for(groom.user).post(INTERESTS, {"to_profile": to}, format="json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert Interest.objects.count() == 0


def test_only_the_receiver_may_accept(client_for):
    bride, groom, stranger = make_member(), make_groom(), make_member()
    interest = send(client_for, groom, bride).json()["id"]

    by_sender = act(client_for, groom, interest, "accept")
    by_stranger = act(client_for, stranger, interest, "accept")
    unknown = act(client_for, bride, "not-a-uuid", "accept")

    assert by_sender.status_code == by_stranger.status_code == unknown.status_code == 404
    assert Interest.objects.get().status == "pending"


def test_daily_limit(client_for, settings):
    settings.MATCHING_INTERESTS_PER_DAY = 1
    groom = make_groom()

    first = send(client_for, groom, make_member())
    second = send(client_for, groom, make_member())

    assert (first.status_code, second.status_code) == (201, 429)


def test_bad_list_filters_are_400(client_for):
    response = client_for(make_groom().user).get(INTERESTS, {"direction": "sideways"})

    assert response.status_code == 400 and "direction" in response.json()["fields"]


def test_shortlist_and_ignore_are_idempotent(client_for):
    bride, groom = make_member(), make_groom()
    client = client_for(groom.user)

    first = client.post(f"/api/v1/matching/shortlist/{bride.user.profile_code}")
    again = client.post(f"/api/v1/matching/shortlist/{bride.user_id}")
    listed = client.get("/api/v1/matching/shortlisted").json()["results"]
    removed = client.delete(f"/api/v1/matching/shortlist/{bride.user_id}")
    ignored = client.post(f"/api/v1/matching/ignore/{bride.user_id}")
    unignored = client.delete(f"/api/v1/matching/ignore/{bride.user_id}")

    assert (first.status_code, again.status_code) == (201, 201)
    assert [item["profile"]["id"] for item in listed] == [str(bride.user_id)]
    assert removed.status_code == ignored.status_code == unignored.status_code == 204
    assert Shortlist.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_both_sending_at_once_end_in_one_accepted_interest():
    from matching import services

    bride, groom = make_member(), make_groom()
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def go(sender, receiver) -> None:
        barrier.wait()
        try:
            services.interest_send(sender=sender.user, receiver=receiver.user)
        except Exception as exc:  # a 409 for one of them is fine; the outcome is checked below
            errors.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=go, args=(groom, bride)),
        threading.Thread(target=go, args=(bride, groom)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Interest.objects.count() == 1
    assert Interest.objects.get().status == "accepted"
    assert set(errors) <= {"Conflict"}


def test_dashboard_counts_interests(client_for):
    bride, groom, other = make_member(), make_groom(), make_groom()
    send(client_for, groom, bride)
    accepted_id = send(client_for, other, bride).json()["id"]
    act(client_for, bride, accepted_id, "accept")

    counts = client_for(bride.user).get("/api/v1/dashboard").json()["interests"]

    assert counts == {"received_pending": 1, "sent_pending": 0, "accepted": 1}


def test_dashboard_counts_only_interests_with_members_she_still_sees(client_for):
    bride = make_member()
    grooms = [make_groom() for _ in range(7)]
    send(client_for, grooms[0], bride)  # received, pending
    send(client_for, bride, grooms[1])  # sent, pending
    act(client_for, bride, send(client_for, grooms[2], bride).json()["id"], "accept")
    act(client_for, grooms[3], send(client_for, bride, grooms[3]).json()["id"], "accept")
    act(client_for, bride, send(client_for, grooms[4], bride).json()["id"], "decline")
    send(client_for, grooms[5], bride)
    Block.objects.create(blocker=bride.user, blocked=grooms[5].user)  # out of sight
    send(client_for, bride, grooms[6])
    grooms[6].is_hidden = True  # hibernating: out of sight
    grooms[6].save(update_fields=["is_hidden"])

    counts = client_for(bride.user).get("/api/v1/dashboard").json()["interests"]

    assert counts == {"received_pending": 1, "sent_pending": 1, "accepted": 2}
    # the other side's numbers are their own
    assert client_for(grooms[1].user).get("/api/v1/dashboard").json()["interests"] == {
        "received_pending": 1,
        "sent_pending": 0,
        "accepted": 0,
    }


def test_a_suspended_member_counts_nothing_on_her_dashboard():
    from matching.lists import interest_counts

    bride, groom = make_member(), make_groom()
    Interest.objects.create(
        sender=groom.user,
        receiver=bride.user,
        member_low=min(groom.pk, bride.pk),
        member_high=max(groom.pk, bride.pk),
        status="pending",
    )
    assert interest_counts(bride.user)["received_pending"] == 1
    bride.user.is_active = False

    assert interest_counts(bride.user) == {"received_pending": 0, "sent_pending": 0, "accepted": 0}


@pytest.mark.parametrize("rows", [1, 6])
def test_interest_list_costs_no_query_per_row_for_cards(
    client_for, django_assert_num_queries, rows
):
    bride = make_member()
    for _ in range(rows):
        send(client_for, make_groom(), bride)
    client = client_for(bride.user)

    # token user, the page with both members' cards joined, then for the whole page the
    # photo rule's visibility check, the primary photos (media's batch provider) and who
    # hides their last seen
    with django_assert_num_queries(5):
        client.get(INTERESTS)


def test_shortlist_leaves_out_members_i_may_no_longer_see(client_for):
    groom, kept, blocker = make_groom(), make_member(), make_member()
    client = client_for(groom.user)
    for bride in (kept, blocker):
        assert client.post(f"/api/v1/matching/shortlist/{bride.user_id}").status_code == 201
    Block.objects.create(blocker=blocker.user, blocked=groom.user)

    listed = client.get("/api/v1/matching/shortlisted").json()["results"]

    assert [item["profile"]["id"] for item in listed] == [str(kept.user_id)]
