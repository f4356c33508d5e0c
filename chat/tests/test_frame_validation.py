"""`FrameSendIn.quick_validation` (the chat socket's fast path) never accepts a frame the
serializer refuses, and gives what the serializer gives for every frame it accepts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from chat.models import MAX_BODY, MAX_CLIENT_ID
from chat.serializers import FrameSendIn

CONVERSATION = "0b7d3f52-5c0e-4a57-9d55-3a1f7c3e9a10"
REFUSED = object()


def full(frame: dict[str, Any]) -> Any:
    try:
        return dict(FrameSendIn().run_validation(frame))
    except ValidationError:
        return REFUSED


def plain(**fields: Any) -> dict[str, Any]:
    return {
        "type": "message.send",
        "conversation_id": CONVERSATION,
        "body": "Namaskaram",
        "client_id": "c-1",
        **fields,
    }


PLAIN = [
    plain(),
    plain(body="ഹലോ, സുഖമാണോ? 🙂"),
    plain(body="x" * MAX_BODY),
    plain(body="  leading and trailing kept  \n"),
    plain(client_id="A" * MAX_CLIENT_ID),
    plain(client_id="0b7d3f52-5c0e-4a57-9d55-3a1f7c3e9a10:1.x_y"),
    plain(conversation_id=CONVERSATION.upper()),
    plain(conversation_id=CONVERSATION.replace("-", "")),
    plain(conversation_id="{" + CONVERSATION + "}"),
    {"type": "message.send", "recipient_id": "AUR123456", "body": "Hi", "client_id": "c"},
]

ODD = [
    plain(body=""),
    plain(body="   \n\t"),
    plain(body="x" * (MAX_BODY + 1)),
    plain(body="nul\x00here"),
    plain(body="half \ud83d surrogate"),
    plain(body=7),
    plain(body=1.5),
    plain(body=True),
    plain(body=None),
    plain(body=["list"]),
    plain(client_id=""),
    plain(client_id=" c-1 "),
    plain(client_id="c-1\n"),
    plain(client_id="has space"),
    plain(client_id="A" * (MAX_CLIENT_ID + 1)),
    plain(client_id=12),
    plain(conversation_id="not-a-uuid"),
    plain(conversation_id=""),
    plain(conversation_id=None),
    plain(conversation_id=int(uuid.UUID(CONVERSATION))),
    plain(conversation_id=" " + CONVERSATION),
    plain(recipient_id="AUR123456"),
    plain(extra="field"),
    plain(type=" message.send"),
    {"type": "message.send", "body": "Hi", "client_id": "c"},
    {"type": "message.send", "recipient_id": " AUR1 ", "body": "Hi", "client_id": "c"},
    {"type": "message.send", "recipient_id": "", "body": "Hi", "client_id": "c"},
    {"type": "message.send", "recipient_id": "A" * 41, "body": "Hi", "client_id": "c"},
    {"type": "message.send", "recipient_id": 42, "body": "Hi", "client_id": "c"},
    {"type": "message.send", "recipient_id": "AUR\x001", "body": "Hi", "client_id": "c"},
]


@pytest.mark.parametrize("frame", PLAIN)
def test_plain_frames_take_the_quick_path_and_get_what_the_serializer_gives(frame):
    quick = FrameSendIn.quick_validation(frame)
    assert quick is not None
    assert quick == full(frame)


@pytest.mark.parametrize("frame", ODD)
def test_other_frames_are_left_to_the_serializer(frame):
    assert FrameSendIn.quick_validation(frame) is None


def test_the_odd_frames_cover_both_answers_of_the_serializer():
    answers = [full(frame) is REFUSED for frame in ODD]
    assert any(answers) and not all(answers)  # refused ones, and ones it accepts after converting


values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="AZaz09_.:- \n\x00", max_size=70),
    st.sampled_from(["", " ", CONVERSATION, CONVERSATION.upper(), "x" * MAX_BODY, "\ud800"]),
    st.integers(),
    st.none(),
    st.booleans(),
)
names = st.sampled_from(["type", "conversation_id", "recipient_id", "body", "client_id", "other"])
# A plain frame with a few fields changed, added or dropped: often valid, often just not.
frames = st.tuples(st.dictionaries(names, values, max_size=3), st.sets(names, max_size=2)).map(
    lambda change: {
        name: value
        for name, value in {**plain(), **change[0]}.items()
        if name not in change[1] or name == "type"
    }
)


@settings(max_examples=1500, deadline=None)
@given(frames)
def test_the_quick_path_never_disagrees_with_the_serializer(frame):
    quick = FrameSendIn.quick_validation(frame)
    if quick is not None:
        assert quick == full(frame)
