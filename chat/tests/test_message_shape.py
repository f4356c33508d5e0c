"""The one shape of a message: `message_data` gives `MessageOut`'s fields in its order, and
the serializer (nested in conversation lists) passes that shape through unchanged."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from chat import services
from chat.serializers import ConversationOut, MessageOut
from chat.shapes import message_data
from chat.tests.helpers import connected_pair

pytestmark = pytest.mark.django_db


def test_message_data_is_the_documented_shape_and_serializes_unchanged():
    bride, groom, conversation = connected_pair()
    message, _ = services.message_send(
        sender=groom.user, conversation_id=conversation.pk, body="Namaskaram", client_id="c-1"
    )
    edited = services.message_send(
        sender=bride.user, conversation_id=conversation.pk, body="Hello", client_id="c-2"
    )[0]
    edited.edited_at = timezone.now()
    deleted = services.message_send(
        sender=bride.user, conversation_id=conversation.pk, body="Gone", client_id="c-3"
    )[0]
    deleted.deleted_at = timezone.now()

    for item in (message, edited, deleted):
        data = message_data(item)
        assert list(data) == list(MessageOut().fields)
        assert JSONRenderer().render(MessageOut(data).data) == JSONRenderer().render(data)
    assert message_data(deleted)["body"] == "" and message_data(deleted)["deleted"] is True
    assert message_data(edited)["edited_at"] == edited.edited_at.isoformat()
    assert message_data(message)["conversation_id"] == str(conversation.pk)
    row = {
        "id": conversation.pk,
        "other_user_id": bride.pk,
        "other_name": "B",
        "last_message": message_data(message),
        "unread_count": 0,
        "last_read_id": 0,
        "updated_at": message.created_at,
    }
    assert ConversationOut(row).data["last_message"] == message_data(message)
