"""A pair's conversation: opened once, found only by its members."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.models import (
    Conversation,
    Participant,
)
from chat.selectors import conversations_of
from chat.services.reach import not_found
from matching import selectors as matching_selectors


def conversation_open(a_id: Any, b_id: Any) -> Conversation:
    """The pair's conversation, created with its two participants the first time (safe when
    two requests open it at once: the pair is unique)."""
    low, high = matching_selectors.pair_key(a_id, b_id)
    existing = Conversation.objects.filter(member_low=low, member_high=high).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(member_low=low, member_high=high)
            Participant.objects.bulk_create(
                [Participant(conversation=conversation, user_id=pk) for pk in (low, high)]
            )
            return conversation
    except IntegrityError:
        return Conversation.objects.get(member_low=low, member_high=high)


def conversation_of(*, user: User, conversation_id: Any) -> Conversation:
    """A conversation `user` sees (`chat.selectors.conversations_of`); 404 for any other (or
    a malformed id)."""
    conversation_id = conversation_key(conversation_id)
    if conversation_id is None:
        raise not_found()
    conversation = conversations_of(viewer=user).filter(pk=conversation_id).first()
    if conversation is None:
        raise not_found()
    return conversation


def conversation_key(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
