"""The one shape of a message, HTTP lists and live frames alike: `chat.serializers.MessageOut`
documents it, `message_data` builds it. Apart from the serializers, so that chat's selectors
(facts others read) build messages without importing the API's interface."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers

from aurum.serializers import Out, Shape
from chat.models import Message


def _shown_body(deleted: bool, body: str) -> str:
    return "" if deleted else body


def _moment_or_none(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# Built given whether the message is deleted.
MESSAGE = Shape(
    Out("id", serializers.IntegerField(help_text="Increases within the conversation: a cursor.")),
    Out("conversation_id", serializers.UUIDField(), transform=str),
    Out("sender_id", serializers.UUIDField(), transform=str),
    Out("client_id", serializers.CharField()),
    Out(
        "body",
        serializers.CharField(help_text="Empty once the sender deleted the message."),
        ("deleted", "body"),
        _shown_body,
    ),
    Out("created_at", serializers.DateTimeField(), transform=datetime.isoformat),
    Out("edited_at", serializers.DateTimeField(allow_null=True), transform=_moment_or_none),
    Out("deleted", serializers.BooleanField()),
    given=("deleted",),
)


def message_data(message: Message) -> dict[str, Any]:
    """A message as the apps see it."""
    return MESSAGE.build(message, message.deleted_at is not None)
