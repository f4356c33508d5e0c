"""What comes in over HTTP and over WebSocket frames is validated by the same serializers."""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from rest_framework import serializers

from aurum.serializers import QuerySerializer, StrictSerializer
from chat.models import MAX_BODY, MAX_CLIENT_ID, CallMedia
from chat.shapes import MESSAGE


class BodyField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_BODY, trim_whitespace=False, **kwargs)

    @staticmethod
    def refusal(value: str) -> serializers.ValidationError | None:
        """What refuses a body beyond a CharField's rules (the send frame's quick path asks too)."""
        if not value.strip():
            return serializers.ValidationError("Write something to send.", code="blank")
        if "\x00" in value:
            return serializers.ValidationError("Null characters are not allowed.", code="invalid")
        return None

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if (refused := self.refusal(value)) is not None:
            raise refused
        return value


CLIENT_ID_CHARS = "A-Za-z0-9_.:-"  # a regular expression's character set


class SendIn(StrictSerializer):
    conversation_id = serializers.UUIDField(required=False)
    recipient_id = serializers.CharField(
        required=False, max_length=40, help_text="The member's id or profile code."
    )
    body = BodyField()
    client_id = serializers.RegexField(
        rf"^[{CLIENT_ID_CHARS}]+$",
        max_length=MAX_CLIENT_ID,
        help_text="The app's id for this message (a UUID, say); sending it again returns "
        "the first message.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("conversation_id" in attrs) == ("recipient_id" in attrs):
            raise serializers.ValidationError(
                {"conversation_id": ["Give conversation_id or recipient_id (one of them)."]}
            )
        return attrs


class FrameSendIn(SendIn):
    type = serializers.CharField()

    # The plain `message.send` frame (strings where strings go, nothing to trim or convert)
    # accepted without DRF's machinery, which took a tenth of a chat server's time: the same
    # validated data `run_validation` gives, or None (the serializer then judges the frame and
    # words the error). Set below from the fields (`quick_send_validation`); a test holds the
    # two to agreement.
    quick_validation: ClassVar[Callable[[dict[str, Any]], dict[str, Any] | None]]


_SURROGATE = re.compile("[\ud800-\udfff]")


def quick_send_validation(serializer: SendIn) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """`FrameSendIn.quick_validation`, its rules read once from the serializer's own fields
    (which fields, their lengths, the body's refusals) and `CLIENT_ID_CHARS`, so that a rule
    is changed in one place: the serializer."""
    fields = serializer.fields
    names = frozenset(fields)
    body_max, body_refusal = fields["body"].max_length, fields["body"].refusal
    # The id's characters, up to its length, with nothing to trim (no whitespace among them).
    client_id_pattern = re.compile(rf"[{CLIENT_ID_CHARS}]{{1,{fields['client_id'].max_length}}}")
    if any(client_id_pattern.fullmatch(space) for space in string.whitespace):
        raise ValueError("a client_id the serializer trims cannot take the quick path")
    recipient_max = fields["recipient_id"].max_length

    def quick(data: dict[str, Any]) -> dict[str, Any] | None:
        if not (data.keys() <= names and data.get("type") == "message.send"):
            return None
        body, client_id = data.get("body"), data.get("client_id")
        if not (
            isinstance(body, str)
            and len(body) <= body_max
            and (body.isascii() or _SURROGATE.search(body) is None)
            and body_refusal(body) is None
            and isinstance(client_id, str)
            and client_id_pattern.fullmatch(client_id)
        ):
            return None
        conversation_id, recipient_id = data.get("conversation_id"), data.get("recipient_id")
        valid: dict[str, Any] = {}
        if isinstance(conversation_id, str) and "recipient_id" not in data:
            try:
                valid["conversation_id"] = uuid.UUID(hex=conversation_id)
            except ValueError:
                return None
        elif (
            isinstance(recipient_id, str)
            and "conversation_id" not in data
            and 0 < len(recipient_id) <= recipient_max
            and recipient_id == recipient_id.strip()
            and recipient_id.isascii()
            and "\x00" not in recipient_id
        ):
            valid["recipient_id"] = recipient_id
        else:
            return None
        valid.update(body=body, client_id=client_id, type="message.send")
        return valid

    return quick


FrameSendIn.quick_validation = staticmethod(quick_send_validation(FrameSendIn()))


class EditIn(StrictSerializer):
    body = BodyField()


class ReadIn(StrictSerializer):
    up_to_id = serializers.IntegerField(min_value=0, max_value=2**62)


class FrameReadIn(ReadIn):
    type = serializers.CharField()
    conversation_id = serializers.UUIDField()


class FrameTypingIn(StrictSerializer):
    type = serializers.CharField()
    conversation_id = serializers.UUIDField()


class MessagesQuery(QuerySerializer):
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**62)
    before = serializers.IntegerField(required=False, min_value=0, max_value=2**62)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "after" in attrs and "before" in attrs:
            raise serializers.ValidationError({"after": ["Give after or before, not both."]})
        return attrs


MessageOut = MESSAGE.serializer("MessageOut", module=__name__)


class MessagesPageOut(serializers.Serializer):
    results = MessageOut(many=True)
    has_more = serializers.BooleanField(help_text="More messages lie beyond this page.")
    next = serializers.CharField(
        allow_null=True, help_text="Newer messages (`after=` this page's last), or null."
    )
    previous = serializers.CharField(
        allow_null=True, help_text="Older messages (`before=` this page's first), or null."
    )


class ConversationOut(serializers.Serializer):
    id = serializers.UUIDField()
    other_user_id = serializers.UUIDField()
    other_name = serializers.CharField()
    last_message = MessageOut(allow_null=True)
    unread_count = serializers.IntegerField()
    last_read_id = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class ReadOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    last_read_id = serializers.IntegerField()


class SettingsIn(StrictSerializer):
    read_receipts = serializers.BooleanField(required=False)
    show_last_seen = serializers.BooleanField(required=False)


class SettingsOut(serializers.Serializer):
    read_receipts = serializers.BooleanField()
    show_last_seen = serializers.BooleanField()


class CallOut(serializers.Serializer):
    call_id = serializers.UUIDField()
    caller_id = serializers.UUIDField()
    callee_id = serializers.UUIDField()
    media = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField()
    end_reason = serializers.CharField()


class TurnOut(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()
    ttl = serializers.IntegerField()
    uris = serializers.ListField(child=serializers.CharField())


# Call frames


class FrameInviteIn(StrictSerializer):
    type = serializers.CharField()
    to_user_id = serializers.CharField(max_length=40, help_text="The member's id or profile code.")
    media = serializers.ChoiceField(choices=CallMedia.choices)


class FrameCallIn(StrictSerializer):
    type = serializers.CharField()
    call_id = serializers.UUIDField()


class FrameSdpIn(FrameCallIn):
    sdp = serializers.CharField(trim_whitespace=False)

    def validate_sdp(self, value: str) -> str:
        if len(value.encode()) > settings.CHAT_MAX_SDP_BYTES:
            raise serializers.ValidationError(
                f"SDP may be at most {settings.CHAT_MAX_SDP_BYTES} bytes.", code="too_large"
            )
        return value


class FrameIceIn(FrameCallIn):
    candidate = serializers.JSONField()

    def validate_candidate(self, value: Any) -> Any:
        if not isinstance(value, (dict, str)) or len(str(value)) > 2048:
            raise serializers.ValidationError(
                "An ICE candidate is an object (or string) of at most 2 KB.", code="invalid"
            )
        return value
