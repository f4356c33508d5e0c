"""Who keeps a conversation after a block, and the one answer for a member out of reach.

A block takes the conversation away from the member who was blocked (404, not listed, not on
the dashboard); the blocker keeps it read-only, as evidence for a report; an unblock gives it
back to both. Whatever keeps a sender from a member (a block either way, the member hidden,
unapproved, held for review, suspended or deleted, or no such member) answers exactly as a
conversation or member that does not exist: 404 `not_found` over HTTP, the same `error` frame
over WebSocket.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from accounts.privacy import member_erase
from accounts.services import user_set_active
from aurum.errors import NotFound
from chat import services
from chat.models import Message, Participant
from chat.tests.helpers import connected_pair, frames_until, nothing_more, socket_for
from moderation.models import Block, Report, ReportStatus
from moderation.services import block_create, block_delete
from profiles.models import Profile
from profiles.tests.factories import make_groom

CHAT = "/api/v1/chat"
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def send(client, conversation, body="Namaskaram", client_id="c-1"):
    return client.post(
        f"{CHAT}/messages/send",
        {"conversation_id": str(conversation.pk), "body": body, "client_id": client_id},
        format="json",
    )


def listed(client) -> list[str]:
    return [row["id"] for row in client.get(f"{CHAT}/conversations").json()["results"]]


def on_dashboard(client) -> list[str]:
    return [row["id"] for row in client.get("/api/v1/dashboard").json()["recent_chats"]]


@pytest.mark.django_db
def test_a_blocked_member_loses_the_conversation_and_the_blocker_keeps_it_read_only(client_for):
    bride, groom, conversation = connected_pair()
    bride_client, groom_client = client_for(bride.user), client_for(groom.user)
    first = send(groom_client, conversation, body="Hello", client_id="before").json()
    history = f"{CHAT}/messages/{conversation.pk}"

    block_create(blocker=bride.user, blocked=groom.user)

    # The blocked member: gone, as if it never was.
    assert listed(groom_client) == [] and on_dashboard(groom_client) == []
    gone = groom_client.get(history)
    read = groom_client.post(f"{history}/read", {"up_to_id": first["id"]}, format="json")
    edit = groom_client.patch(f"{history}/{first['id']}", {"body": "Changed"}, format="json")
    delete = groom_client.delete(f"{history}/{first['id']}")
    sent = send(groom_client, conversation, client_id="after")
    for response in (gone, read, edit, delete, sent):
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    # The blocker: listed, history readable, nothing may be sent or changed.
    assert listed(bride_client) == [str(conversation.pk)]
    assert on_dashboard(bride_client) == [str(conversation.pk)]
    kept = bride_client.get(history)
    assert kept.status_code == 200 and [m["body"] for m in kept.json()["results"]] == ["Hello"]
    refused = send(bride_client, conversation, client_id="blocker")
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    assert list(Message.objects.values_list("client_id", "body")) == [("before", "Hello")]
    assert Message.objects.get().deleted_at is None


@pytest.mark.django_db
def test_the_blocker_may_still_mark_the_conversation_read(client_for):
    bride, groom, conversation = connected_pair()
    first = send(client_for(groom.user), conversation).json()
    block_create(blocker=bride.user, blocked=groom.user)

    read = client_for(bride.user).post(
        f"{CHAT}/messages/{conversation.pk}/read", {"up_to_id": first["id"]}, format="json"
    )

    assert read.status_code == 200 and read.json()["last_read_id"] == first["id"]
    assert Participant.objects.get(user=bride.user).last_read_id == first["id"]


@pytest.mark.django_db
def test_an_unblock_gives_the_conversation_back_to_both(client_for):
    bride, groom, conversation = connected_pair()
    bride_client, groom_client = client_for(bride.user), client_for(groom.user)
    send(groom_client, conversation, body="Hello", client_id="before")
    block_create(blocker=bride.user, blocked=groom.user)

    block_delete(blocker=bride.user, blocked=groom.user)

    assert listed(groom_client) == listed(bride_client) == [str(conversation.pk)]
    assert on_dashboard(groom_client) == [str(conversation.pk)]
    history = groom_client.get(f"{CHAT}/messages/{conversation.pk}").json()["results"]
    assert [m["body"] for m in history] == ["Hello"]
    assert send(groom_client, conversation, client_id="again").status_code == 201
    assert send(bride_client, conversation, client_id="back").status_code == 201


@pytest.mark.django_db
def test_blocks_both_ways_take_it_from_both(client_for):
    bride, groom, _conversation = connected_pair()
    block_create(blocker=bride.user, blocked=groom.user)
    Block.objects.create(blocker=groom.user, blocked=bride.user)  # hidden from him by now

    assert listed(client_for(bride.user)) == listed(client_for(groom.user)) == []


@pytest.mark.django_db
def test_a_block_by_someone_else_changes_nothing(client_for):
    _bride, groom, conversation = connected_pair()
    block_create(blocker=make_groom().user, blocked=groom.user)
    block_create(blocker=groom.user, blocked=make_groom().user)

    assert listed(client_for(groom.user)) == [str(conversation.pk)]
    assert client_for(groom.user).get(f"{CHAT}/messages/{conversation.pk}").status_code == 200


def _blocked_by_them(bride, groom):
    block_create(blocker=bride.user, blocked=groom.user)


def _blocked_them(bride, groom):
    block_create(blocker=groom.user, blocked=bride.user)


def _hidden(bride, groom):
    Profile.objects.filter(pk=bride.pk).update(is_hidden=True)


def _unapproved(bride, groom):
    Profile.objects.filter(pk=bride.pk).update(verification_status="Pending")


def _held_for_review(bride, groom):
    Report.objects.create(
        reporter=make_groom().user,
        reported=bride.user,
        reason="fake_profile",
        status=ReportStatus.PENDING,
        flagged=True,
    )


def _suspended(bride, groom):
    user_set_active(actor=None, user=bride.user, active=False)


def _deleted(bride, groom):
    member_erase(User.objects.get(pk=bride.user_id))


OUT_OF_REACH = [
    _blocked_by_them,
    _blocked_them,
    _hidden,
    _unapproved,
    _held_for_review,
    _suspended,
    _deleted,
]
OUT_OF_REACH_IDS = [
    "blocked_by_them",
    "blocked_them",
    "hidden",
    "unapproved",
    "held_for_review",
    "suspended",
    "deleted",
]


@pytest.mark.django_db
@pytest.mark.parametrize("change", OUT_OF_REACH, ids=OUT_OF_REACH_IDS)
def test_a_member_out_of_reach_answers_as_no_member_at_all(client_for, change):
    bride, groom, conversation = connected_pair()
    client = client_for(groom.user)
    nobody = client.post(
        f"{CHAT}/messages/send",
        {"recipient_id": "AU0NOBODY", "body": "Hi", "client_id": "nobody"},
        format="json",
    )
    nowhere = client.post(
        f"{CHAT}/messages/send",
        {
            "conversation_id": "00000000-0000-0000-0000-000000000000",
            "body": "Hi",
            "client_id": "nowhere",
        },
        format="json",
    )

    change(bride, groom)
    by_id = client.post(
        f"{CHAT}/messages/send",
        {"recipient_id": str(bride.user_id), "body": "Hi", "client_id": "by-id"},
        format="json",
    )
    by_conversation = send(client, conversation, client_id="by-conversation")

    answers = {(r.status_code, r.content) for r in (nobody, nowhere, by_id, by_conversation)}
    assert answers == {(404, nobody.content)} and nobody.json() == NOT_FOUND
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_no_accepted_interest_with_a_member_one_may_see_is_still_said(client_for):
    # It reveals nothing: the sender sees the member's profile and knows their own interests.
    bride, _groom, _conversation = connected_pair()
    stranger = make_groom()

    refused = client_for(stranger.user).post(
        f"{CHAT}/messages/send",
        {"recipient_id": str(bride.user_id), "body": "Hi", "client_id": "s"},
        format="json",
    )

    assert refused.status_code == 403 and refused.json()["code"] == "not_connected"


# Over WebSocket


pair = database_sync_to_async(connected_pair)


async def _error_for(ws, frame):
    await ws.send_json_to(frame)
    return await frames_until(ws, "error")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", OUT_OF_REACH, ids=OUT_OF_REACH_IDS)
async def test_out_of_reach_frames_get_the_error_of_an_unknown_conversation(change):
    bride, groom, conversation = await pair()
    ws = await socket_for(groom)
    unknown = "00000000-0000-0000-0000-000000000000"
    send = {"type": "message.send", "body": "Hi", "client_id": "x"}
    nowhere = await _error_for(ws, {**send, "conversation_id": unknown})

    await database_sync_to_async(change)(bride, groom)
    answers = [
        await _error_for(ws, {**send, "conversation_id": str(conversation.pk)}),
        await _error_for(ws, {**send, "recipient_id": str(bride.user_id), "client_id": "y"}),
        await _error_for(ws, {"type": "typing", "conversation_id": str(conversation.pk)}),
    ]

    assert nowhere == {"type": "error", "code": "not_found", "detail": "Not found."}
    assert answers == [nowhere] * 3
    assert await database_sync_to_async(Message.objects.count)() == 0
    await ws.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", OUT_OF_REACH, ids=OUT_OF_REACH_IDS)
async def test_calling_a_member_out_of_reach_answers_as_calling_no_one(change):
    bride, groom, _conversation = await pair()
    ws = await socket_for(groom, "/ws/call")
    invite = {"type": "call.invite", "media": "audio"}
    no_one = await _error_for(ws, {**invite, "to_user_id": "AU0NOBODY"})

    await database_sync_to_async(change)(bride, groom)
    refused = await _error_for(ws, {**invite, "to_user_id": str(bride.user_id)})

    assert no_one == refused == {"type": "error", "code": "not_found", "detail": "Not found."}
    await ws.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_after_a_block_the_blocked_member_reads_and_types_as_in_an_unknown_conversation():
    bride, groom, conversation = await pair()
    ws = await socket_for(groom)
    unknown = "00000000-0000-0000-0000-000000000000"
    typing_nowhere = await _error_for(ws, {"type": "typing", "conversation_id": unknown})
    read_nowhere = await _error_for(ws, {"type": "read", "conversation_id": unknown, "up_to_id": 1})

    await database_sync_to_async(block_create)(blocker=bride.user, blocked=groom.user)
    typing = await _error_for(ws, {"type": "typing", "conversation_id": str(conversation.pk)})
    read = await _error_for(
        ws, {"type": "read", "conversation_id": str(conversation.pk), "up_to_id": 1}
    )

    assert typing == typing_nowhere == read == read_nowhere
    assert typing["code"] == "not_found"
    await ws.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_after_a_block_no_live_frame_reaches_the_blocked_member():
    bride, groom, conversation = await pair()
    groom_ws = await socket_for(groom)
    sent, _ = await database_sync_to_async(services.message_send)(
        sender=bride.user, body="Hello", client_id="b-1", conversation_id=conversation.pk
    )
    await frames_until(groom_ws, "message.new")

    await database_sync_to_async(block_create)(blocker=bride.user, blocked=groom.user)
    bride_ws = await socket_for(bride)
    await bride_ws.send_json_to({"type": "typing", "conversation_id": str(conversation.pk)})
    await bride_ws.send_json_to(
        {
            "type": "message.send",
            "conversation_id": str(conversation.pk),
            "body": "After",
            "client_id": "b-2",
        }
    )
    await bride_ws.send_json_to(
        {"type": "read", "conversation_id": str(conversation.pk), "up_to_id": sent.id}
    )
    deleted = database_sync_to_async(services.message_delete)
    with pytest.raises(NotFound):
        await deleted(user=bride.user, conversation_id=conversation.pk, message_id=sent.id)
    await bride_ws.disconnect()

    assert await nothing_more(groom_ws)
    assert (await database_sync_to_async(Message.objects.get)(pk=sent.id)).deleted_at is None
    await groom_ws.disconnect()
