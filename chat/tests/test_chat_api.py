"""Chat over HTTP: conversations, messages, catch-up cursors, receipts, edits, and every way a
send is refused (nothing stored)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import user_set_active
from chat import services
from chat.models import Conversation, Message, MessageRevision, Participant
from chat.services import messages as message_services
from chat.services import reach
from chat.tests.helpers import connected_pair
from matching import selectors as matching_selectors
from matching import services as matching
from moderation.models import Report, ReportStatus
from moderation.services import block_create
from notifications.models import Notification
from policy import visibility
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

DASHBOARD_QUERIES = 7

pytestmark = pytest.mark.django_db

CHAT = "/api/v1/chat"


def send(client_for, who, conversation, body="Namaskaram", client_id="c-1", **extra):
    payload = {"conversation_id": str(conversation.pk), "body": body, "client_id": client_id}
    return client_for(who.user).post(f"{CHAT}/messages/send", {**payload, **extra}, format="json")


def test_accepting_an_interest_opens_one_conversation_with_both_members():
    bride, groom, conversation = connected_pair()

    members = set(
        Participant.objects.filter(conversation=conversation).values_list("user_id", flat=True)
    )
    assert members == {bride.user_id, groom.user_id}
    assert Conversation.objects.count() == 1


def test_send_then_list_then_catch_up(client_for):
    bride, groom, conversation = connected_pair()

    first = send(client_for, groom, conversation, client_id="a")
    second = send(client_for, bride, conversation, body="Hello", client_id="b")
    third = send(client_for, groom, conversation, body="How are you?", client_id="c")

    assert first.status_code == 201 and second.status_code == 201
    ids = [first.data["id"], second.data["id"], third.data["id"]]
    assert ids == sorted(ids)
    page = client_for(bride.user).get(f"{CHAT}/messages/{conversation.pk}").json()
    assert [m["body"] for m in page["results"]] == ["Namaskaram", "Hello", "How are you?"]
    assert page["has_more"] is False
    caught_up = (
        client_for(bride.user).get(f"{CHAT}/messages/{conversation.pk}", {"after": ids[0]}).json()
    )
    assert [m["id"] for m in caught_up["results"]] == ids[1:]
    back = (
        client_for(bride.user)
        .get(f"{CHAT}/messages/{conversation.pk}", {"before": ids[2], "limit": 1})
        .json()
    )
    assert [m["id"] for m in back["results"]] == [ids[1]] and back["has_more"] is True
    assert page["next"] is None and page["previous"] is None  # the latest, and all of it


def test_next_and_previous_links_walk_the_whole_history(client_for):
    bride, groom, conversation = connected_pair()
    ids = [send(client_for, groom, conversation, client_id=f"m{n}").data["id"] for n in range(5)]
    client = client_for(bride.user)

    latest = client.get(f"{CHAT}/messages/{conversation.pk}", {"limit": 2}).json()
    older = client.get(latest["previous"]).json()
    oldest = client.get(older["previous"]).json()
    forward = client.get(oldest["next"]).json()

    assert [m["id"] for m in latest["results"]] == ids[3:] and latest["next"] is None
    assert [m["id"] for m in older["results"]] == ids[1:3]
    assert [m["id"] for m in oldest["results"]] == ids[:1] and oldest["previous"] is None
    assert [m["id"] for m in forward["results"]] == ids[1:3] and forward["next"] is not None
    assert [m["id"] for m in client.get(forward["next"]).json()["results"]] == ids[3:]


def test_a_repeated_client_id_returns_the_first_message(client_for):
    _bride, groom, conversation = connected_pair()

    first = send(client_for, groom, conversation, body="once", client_id="same")
    again = send(client_for, groom, conversation, body="twice?", client_id="same")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.data["id"] == first.data["id"] and again.data["body"] == "once"
    assert Message.objects.count() == 1


def test_recipient_id_opens_the_conversation_when_needed(client_for):
    bride, groom, _conversation = connected_pair()
    Conversation.objects.all().delete()

    sent = client_for(groom.user).post(
        f"{CHAT}/messages/send",
        {"recipient_id": str(bride.user_id), "body": "Hi", "client_id": "r1"},
        format="json",
    )

    assert sent.status_code == 201
    assert Conversation.objects.get().pk == Message.objects.get().conversation_id


def test_conversations_carry_last_message_and_unread_count(client_for):
    bride, groom, conversation = connected_pair()
    for n in range(3):
        send(client_for, groom, conversation, body=f"m{n}", client_id=f"m{n}")

    listed = client_for(bride.user).get(f"{CHAT}/conversations").json()["results"]
    mine = client_for(groom.user).get(f"{CHAT}/conversations").json()["results"]

    assert len(listed) == 1
    assert listed[0]["unread_count"] == 3 and listed[0]["last_message"]["body"] == "m2"
    assert listed[0]["other_user_id"] == str(groom.user_id)
    assert listed[0]["other_name"] == groom.user.first_name
    assert mine[0]["unread_count"] == 0  # my own messages are never unread to me
    # each side is named by the other (whichever of them sorts first in the pair)
    assert (mine[0]["other_user_id"], mine[0]["other_name"]) == (
        str(bride.user_id),
        bride.user.first_name,
    )


def test_conversation_list_costs_the_same_for_one_or_many(client_for):
    bride = make_member()
    client = client_for(bride.user)

    def grooms_talking(count):
        for n in range(count):
            groom = make_groom()
            interest = matching.interest_send(sender=groom.user, receiver=bride.user)
            matching.interest_accept(user=bride.user, interest=interest)
            conversation = Conversation.objects.get(
                pk__in=Participant.objects.filter(user=groom.user).values("conversation")
            )
            send(client_for, groom, conversation, body=f"hi {n}", client_id=f"g{n}")

    grooms_talking(1)
    with CaptureQueriesContext(connection) as one:
        client.get(f"{CHAT}/conversations")
    grooms_talking(4)
    with CaptureQueriesContext(connection) as five:
        response = client.get(f"{CHAT}/conversations")

    assert len(response.json()["results"]) == 5
    assert len(five) == len(one)


def test_read_moves_forward_only_and_clears_unread(client_for):
    bride, groom, conversation = connected_pair()
    ids = [send(client_for, groom, conversation, client_id=f"x{n}").data["id"] for n in range(3)]
    client = client_for(bride.user)

    read = client.post(
        f"{CHAT}/messages/{conversation.pk}/read", {"up_to_id": ids[1]}, format="json"
    )
    back = client.post(
        f"{CHAT}/messages/{conversation.pk}/read", {"up_to_id": ids[0]}, format="json"
    )
    beyond = client.post(
        f"{CHAT}/messages/{conversation.pk}/read", {"up_to_id": ids[2] + 1000}, format="json"
    )

    assert read.json()["last_read_id"] == ids[1]
    assert back.json()["last_read_id"] == ids[1]
    assert beyond.json()["last_read_id"] == ids[2]  # capped at the last message
    assert client.get(f"{CHAT}/conversations").json()["results"][0]["unread_count"] == 0


def test_an_away_member_is_told_once_per_conversation_until_they_read(client_for):
    bride, groom, conversation = connected_pair()
    Notification.objects.all().delete()

    last = None
    for n in range(3):
        last = send(client_for, groom, conversation, client_id=f"n{n}").data["id"]
    told = Notification.objects.filter(recipient=bride.user, kind="message_received")
    assert told.count() == 1
    client_for(bride.user).post(
        f"{CHAT}/messages/{conversation.pk}/read", {"up_to_id": last}, format="json"
    )
    send(client_for, groom, conversation, client_id="after-read")
    assert told.count() == 2


def test_edit_and_delete_keep_the_original_for_moderators(client_for):
    bride, groom, conversation = connected_pair()
    sent = send(client_for, groom, conversation, body="typo", client_id="e1").data
    url = f"{CHAT}/messages/{conversation.pk}/{sent['id']}"
    client = client_for(groom.user)

    edited = client.patch(url, {"body": "fixed"}, format="json")
    not_mine = client_for(bride.user).patch(url, {"body": "hijack"}, format="json")
    deleted = client.delete(url)

    assert edited.status_code == 200 and edited.data["body"] == "fixed"
    assert edited.data["edited_at"] is not None
    assert not_mine.status_code == 403
    assert deleted.status_code == 200 and deleted.data == {
        **deleted.data,
        "deleted": True,
        "body": "",
    }
    listed = client_for(bride.user).get(f"{CHAT}/messages/{conversation.pk}").json()["results"]
    assert listed[0]["body"] == "" and listed[0]["deleted"] is True
    kept = list(MessageRevision.objects.order_by("pk").values_list("action", "body"))
    assert kept == [("edit", "typo"), ("delete", "fixed")]


def test_editing_after_fifteen_minutes_is_refused(client_for):
    _bride, groom, conversation = connected_pair()
    sent = send(client_for, groom, conversation, body="old", client_id="o1").data
    Message.objects.filter(pk=sent["id"]).update(created_at=timezone.now() - timedelta(minutes=16))

    late = client_for(groom.user).patch(
        f"{CHAT}/messages/{conversation.pk}/{sent['id']}", {"body": "new"}, format="json"
    )

    assert late.status_code == 409 and late.json()["code"] == "edit_window_closed"
    assert Message.objects.get().body == "old"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "", "client_id": "x"}, "body"),
        ({"body": "   ", "client_id": "x"}, "body"),
        ({"body": "a" * 4001, "client_id": "x"}, "body"),
        ({"body": "hi"}, "client_id"),
        ({"body": "hi", "client_id": "a b"}, "client_id"),
        ({"body": "hi", "client_id": "x" * 65}, "client_id"),
        ({"body": "hi", "client_id": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_sends_are_400_and_store_nothing(client_for, payload, field):
    _bride, groom, conversation = connected_pair()

    response = client_for(groom.user).post(
        f"{CHAT}/messages/send", {"conversation_id": str(conversation.pk), **payload}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Message.objects.count() == 0


def test_neither_or_both_targets_is_400(client_for):
    bride, groom, conversation = connected_pair()
    client = client_for(groom.user)

    neither = client.post(f"{CHAT}/messages/send", {"body": "hi", "client_id": "x"}, format="json")
    both = client.post(
        f"{CHAT}/messages/send",
        {
            "body": "hi",
            "client_id": "x",
            "conversation_id": str(conversation.pk),
            "recipient_id": str(bride.user_id),
        },
        format="json",
    )

    assert neither.status_code == both.status_code == 400
    assert Message.objects.count() == 0


def test_who_may_not_send(client_for):
    _bride, groom, conversation = connected_pair()
    stranger = make_groom()
    pending_bride = make_member()
    matching.interest_send(sender=stranger.user, receiver=pending_bride.user)

    not_mine = send(client_for, stranger, conversation, client_id="s1")
    garbage = client_for(groom.user).get(f"{CHAT}/messages/not-a-uuid")
    not_accepted = client_for(stranger.user).post(
        f"{CHAT}/messages/send",
        {"recipient_id": str(pending_bride.user_id), "body": "hi", "client_id": "s2"},
        format="json",
    )

    assert not_mine.status_code == 404
    assert garbage.status_code == 404
    assert not_accepted.status_code == 403 and not_accepted.json()["code"] == "not_connected"
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda bride: Profile.objects.filter(pk=bride.pk).update(is_hidden=True),
        lambda bride: Profile.objects.filter(pk=bride.pk).update(verification_status="Pending"),
        lambda bride: Report.objects.create(
            reporter=make_groom().user,
            reported=bride.user,
            reason="fake_profile",
            status=ReportStatus.PENDING,
            flagged=True,
        ),
    ],
    ids=["hidden", "unapproved", "held_for_review"],
)
def test_a_member_the_visibility_rule_hides_cannot_be_written_to(client_for, change):
    bride, groom, conversation = connected_pair()
    change(bride)

    refused = send(client_for, groom, conversation)

    # As a conversation that does not exist: nothing says why (test_reach.py).
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert Message.objects.count() == 0


def test_a_block_either_way_stops_the_conversation(client_for):
    bride, groom, conversation = connected_pair()
    assert send(client_for, groom, conversation, client_id="before").status_code == 201

    block_create(blocker=bride.user, blocked=groom.user)
    refused = send(client_for, groom, conversation, client_id="after")
    refused_back = send(client_for, bride, conversation, client_id="back")

    assert refused.status_code == refused_back.status_code == 404
    assert refused.json()["code"] == refused_back.json()["code"] == "not_found"
    assert Message.objects.count() == 1


def test_a_suspended_member_cannot_be_written_to(client_for):
    bride, groom, conversation = connected_pair()
    user_set_active(actor=None, user=bride.user, active=False)

    refused = send(client_for, groom, conversation, client_id="late")

    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


def test_messages_are_rate_limited_per_member(client_for, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "chat_message": "2/m"}
    _bride, groom, conversation = connected_pair()

    codes = [send(client_for, groom, conversation, client_id=f"r{n}").status_code for n in range(3)]

    assert codes == [201, 201, 429]
    assert Message.objects.count() == 2


def test_bad_cursors_and_read_marks_are_400(client_for):
    bride, _groom, conversation = connected_pair()
    client = client_for(bride.user)

    assert client.get(f"{CHAT}/messages/{conversation.pk}", {"after": "x"}).status_code == 400
    assert (
        client.get(f"{CHAT}/messages/{conversation.pk}", {"after": 1, "before": 5}).status_code
        == 400
    )
    assert client.get(f"{CHAT}/conversations", {"cursor": "garbage"}).status_code == 400
    bad_read = client.post(
        f"{CHAT}/messages/{conversation.pk}/read", {"up_to_id": -1}, format="json"
    )
    assert bad_read.status_code == 400


def test_turn_credentials_follow_coturns_rest_api(client_for, settings):
    settings.TURN_SECRET = "s3cret"
    settings.TURN_URIS = ["turn:turn.aurum.test:3478?transport=udp"]
    settings.TURN_TTL = 600
    member = make_member()

    got = client_for(member.user).get(f"{CHAT}/calls/turn-credentials").json()

    expiry, user_id = got["username"].split(":")
    assert user_id == str(member.user_id)
    assert int(expiry) - timezone.now().timestamp() == pytest.approx(600, abs=5)
    expected = hmac.new(b"s3cret", got["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(got["password"]) == expected
    assert got["ttl"] == 600 and got["uris"] == settings.TURN_URIS


def test_turn_credentials_without_a_relay_are_503(client_for, settings):
    settings.TURN_SECRET = ""

    response = client_for(make_member().user).get(f"{CHAT}/calls/turn-credentials")

    assert response.status_code == 503 and response.json()["code"] == "turn_unavailable"


def test_chat_settings_round_trip(client_for):
    client = client_for(make_member().user)

    changed = client.patch(f"{CHAT}/settings", {"show_last_seen": False}, format="json")
    bad = client.patch(f"{CHAT}/settings", {"show_last_seen": "sometimes"}, format="json")

    assert changed.json() == {"read_receipts": True, "show_last_seen": False}
    assert bad.status_code == 400
    assert client.get(f"{CHAT}/settings").json()["show_last_seen"] is False


def test_dashboard_lists_recent_chats(client_for):
    bride, groom, conversation = connected_pair()
    send(client_for, groom, conversation, body="Hello there", client_id="d1")

    dashboard = client_for(bride.user).get("/api/v1/dashboard").json()

    assert dashboard["recent_chats"][0]["last_message"]["body"] == "Hello there"
    assert dashboard["recent_chats"][0]["unread_count"] == 1


@pytest.mark.parametrize("chats", [1, 3])
def test_dashboard_query_count_is_pinned(client_for, django_assert_num_queries, chats):
    bride, groom, conversation = connected_pair()
    send(client_for, groom, conversation, body="Hello there", client_id="q1")
    for n in range(1, chats):
        _, other, more = connected_pair(bride=bride)
        send(client_for, other, more, body="Hi", client_id=f"q{n + 1}")
    client = client_for(bride.user)
    client.get("/api/v1/dashboard")  # her feed page cached, as after any visit

    # the token's user; her profile with its sections; the interest numbers; the recent
    # chats (their unread counts and the other members' names in the same statement), their
    # last messages; unread notifications; her own photo and whether she has any (for its
    # completion), in one
    with django_assert_num_queries(DASHBOARD_QUERIES) as captured:
        body = client.get("/api/v1/dashboard").json()

    assert len(body["recent_chats"]) == chats, captured


def test_an_away_member_hears_of_a_message_by_email_too(client_for, outbox):
    bride, groom, conversation = connected_pair()
    before = len(outbox)  # what setting the pair up sent (the accepted interest)

    send(client_for, groom, conversation, client_id="mail-1")

    emails = [m for m in list(outbox)[before:] if m["channel"] == "email"]
    assert [m["to"] for m in emails] == [bride.user.email]
    assert groom.user.first_name in emails[0]["subject"]


def test_a_batch_that_meets_a_stored_client_id_mid_write_settles_each_send_once(
    settings, monkeypatch
):
    # Another device stored "dup" after this batch looked (the race the unique constraint
    # settles): the batch is written again one send at a time, with no second check or
    # rate-limit charge, and "dup" answers with the first message.
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "chat_message": "2/m"}
    _bride, groom, conversation = connected_pair()
    first = Message.objects.create(
        conversation=conversation, sender=groom.user, client_id="dup", body="first"
    )
    stored, looks = message_services._stored, []

    def look(keys):  # the batch's first look comes the moment before "dup" landed
        looks.append(keys)
        return {} if len(looks) == 1 else stored(keys)

    monkeypatch.setattr(message_services, "_stored", look)

    results = services.messages_send(
        [
            services.SendRequest(groom.user, "again", "dup", conversation.pk),
            services.SendRequest(groom.user, "new", "fresh", conversation.pk),
        ]
    )

    assert results[0] == (first, False)
    assert isinstance(results[1], tuple) and results[1][1] is True
    assert sorted(Message.objects.values_list("client_id", flat=True)) == ["dup", "fresh"]
    assert len(looks) == 2  # the first look, and the one that found "dup" on the second write


def test_a_batch_runs_statements_compiled_once_for_any_batch_size(caplog):
    # Every send asks the rule and the batch's own reads; each is compiled once per shape and
    # a batch of 3 pads to the shapes of a batch of 4. A shape that could not be traced would
    # run the ORM every time (slow, with a warning): none may.
    caches = [
        services.BATCH_STATEMENTS,
        visibility.PAIR_STATEMENTS,
        matching_selectors.PAIR_STATEMENTS,
    ]
    pairs = [connected_pair() for _ in range(4)]
    for cache in caches:  # after the set-up, whose interests ask the rule for one member
        cache._shapes.clear()

    def batch(size: int, tag: str) -> list[services.SendResult]:
        return services.messages_send(
            [
                services.SendRequest(groom.user, "Namaskaram", f"{tag}-{n}", conversation.pk)
                for n, (_bride, groom, conversation) in enumerate(pairs[:size])
            ]
        )

    first = batch(3, "a")
    shapes = {cache.name: list(cache._shapes.items()) for cache in caches}
    second = batch(4, "b")

    assert all(isinstance(result, tuple) and result[1] for result in first + second)
    assert {cache.name: list(cache._shapes.items()) for cache in caches} == shapes
    compiled = [shape for cache in caches for shape in cache._shapes.values()]
    # chat: members, lock, channels, untold (nobody is online); shown, blocks; accepted
    assert len(compiled) == 7
    assert all(shape is not None for shape in compiled)
    assert "cannot be reused" not in caplog.text
    assert Message.objects.count() == 7


def test_the_compiled_rule_answers_as_the_orm_does_for_a_mixed_batch(monkeypatch):
    # Refused pairs sit among allowed ones, so padding repeats both kinds of member.
    couples = [connected_pair() for _ in range(5)]
    _first, (b1, g1, _), (b2, g2, _), (b3, g3, _), (b4, _g4, _) = couples
    block_create(blocker=b1.user, blocked=g1.user)
    Profile.objects.filter(pk=b2.pk).update(is_hidden=True)
    user_set_active(actor=None, user=g3.user, active=False)
    declined = matching.interest_send(sender=make_groom().user, receiver=b4.user)
    matching.interest_decline(user=b4.user, interest=declined)
    pairs = {(g.user_id, b.user_id) for b, g, _ in couples} | {(declined.sender_id, b4.user_id)}
    caches = [
        services.BATCH_STATEMENTS,
        visibility.PAIR_STATEMENTS,
        matching_selectors.PAIR_STATEMENTS,
    ]

    compiled = {pair: error.code for pair, error in reach.pair_problems(pairs).items()}
    for cache in caches:
        monkeypatch.setattr(cache, "rows", lambda shape, values, build: list(build(values)))
    orm = {pair: error.code for pair, error in reach.pair_problems(pairs).items()}

    assert (
        compiled
        == orm
        == {
            frozenset((g1.user_id, b1.user_id)): "not_found",
            frozenset((g2.user_id, b2.user_id)): "not_found",
            # The suspended member is the one acting: it is they who are out of sight.
            frozenset((g3.user_id, b3.user_id)): "profile_not_visible",
            frozenset((declined.sender_id, b4.user_id)): "not_connected",
        }
    )
