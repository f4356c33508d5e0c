"""Chat and calls ask the visibility rule both ways (`visible_pairs`), so a member whom others
cannot see talks to no one, even with an accepted interest; she is told it is her own state."""

from __future__ import annotations

import pytest

from aurum.errors import Forbidden
from chat import services
from chat.models import Call, Message
from chat.tests.helpers import connected_pair
from profiles.models import Profile

pytestmark = pytest.mark.django_db


def test_a_member_back_in_verification_cannot_message_or_call(client_for):
    bride, groom, conversation = connected_pair()
    # Changing his date of birth after approval sends him back to verification.
    Profile.objects.filter(pk=groom.pk).update(verification_status="Pending")

    sent = client_for(groom.user).post(
        "/api/v1/chat/messages/send",
        {"conversation_id": str(conversation.pk), "body": "Namaskaram", "client_id": "p-1"},
        format="json",
    )
    with pytest.raises(Forbidden) as call:
        services.call_invite(caller=groom.user, callee_id=str(bride.user_id), media="audio")

    assert sent.status_code == 403 and sent.json()["code"] == "profile_not_visible"
    assert call.value.code == "profile_not_visible"
    assert not Message.objects.exists() and not Call.objects.exists()


def test_her_partner_hears_only_not_found(client_for):
    # One answer for every member out of reach: a hidden account reads as one that is gone.
    bride, groom, conversation = connected_pair()
    Profile.objects.filter(pk=groom.pk).update(is_hidden=True)

    sent = client_for(bride.user).post(
        "/api/v1/chat/messages/send",
        {"conversation_id": str(conversation.pk), "body": "Namaskaram", "client_id": "b-1"},
        format="json",
    )

    assert sent.status_code == 404 and sent.json()["code"] == "not_found"
