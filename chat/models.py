"""Conversations, messages and calls between two members with an accepted interest.

The database is the source of truth: a message is committed before any device hears of it, and
a device that missed a frame catches up with `after=<last id it has>`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

MAX_BODY = 4000
MAX_CLIENT_ID = 64


class Conversation(models.Model):
    """One per pair of members, whoever opened it (`member_low`/`member_high` in a fixed order
    under a unique constraint, as `matching.Interest` does)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    member_low = models.UUIDField(editable=False)
    member_high = models.UUIDField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member_low", "member_high"], name="conversation_one_per_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_low} ↔ {self.member_high}"


class Participant(models.Model):
    """A member's side of a conversation: how far they have read, and whether they have been
    told (once) about messages they have not read yet."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_participations"
    )
    last_read_id = models.BigIntegerField(default=0)
    notified = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="participant_once"),
        ]
        indexes = [models.Index(fields=["user", "conversation"], name="participant_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class Message(models.Model):
    """`id` increases within a conversation in commit order (sends to one conversation hold
    its row lock), so it is the catch-up cursor."""

    id = models.BigAutoField(primary_key=True)
    # No index of their own: message_conversation_idx and the unique (sender, client_id)
    # lead with them, and every index is one more write on each message stored.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_messages",
        db_index=False,
    )
    client_id = models.CharField(max_length=MAX_CLIENT_ID)
    body = models.TextField(max_length=MAX_BODY)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "client_id"], name="message_client_id_once"),
        ]
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation_idx")]

    def __str__(self) -> str:
        return f"#{self.id} in {self.conversation_id}"


class MessageRevision(models.Model):
    """What a message said before an edit or a delete: kept for moderators, never shown to
    members."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    action = models.CharField(max_length=8, choices=[("edit", "Edit"), ("delete", "Delete")])
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.action} of #{self.message_id}"


class ChatSettings(models.Model):
    """A member's chat privacy: read receipts and last seen, both shared by default (only
    with members who have an accepted interest with them)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="chat_settings",
    )
    read_receipts = models.BooleanField(default=True)
    show_last_seen = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chat settings of {self.user_id}"


class ConnectionKind(models.TextChoices):
    CHAT = "chat", "/ws/chat"
    CALL = "call", "/ws/call"


class Connection(models.Model):
    """One live WebSocket. A member is online while any chat row of theirs is fresh: each
    server process refreshes its rows (`seen_at`) on a timer, so a killed process's rows go
    stale on their own. Rows of both kinds count against the member's CHAT_MAX_SOCKETS."""

    channel_name = models.CharField(primary_key=True, max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_connections"
    )
    kind = models.CharField(
        max_length=4, choices=ConnectionKind.choices, default=ConnectionKind.CHAT
    )
    server = models.CharField(max_length=64, db_index=True)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "seen_at"], name="connection_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.server}"


class CallStatus(models.TextChoices):
    RINGING = "ringing", "Ringing"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    MISSED = "missed", "Missed"
    ENDED = "ended", "Ended"
    FAILED = "failed", "Failed"


LIVE_CALL = (CallStatus.RINGING, CallStatus.ACCEPTED)


class CallMedia(models.TextChoices):
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"


class Call(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls_made"
    )
    callee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls_received"
    )
    media = models.CharField(max_length=5, choices=CallMedia.choices)
    status = models.CharField(max_length=8, choices=CallStatus.choices, default=CallStatus.RINGING)
    end_reason = models.CharField(max_length=32, blank=True, default="")
    # The WebSocket that placed the call and the one that answered it: signalling goes to
    # that device only, not to every device of the member.
    caller_channel = models.CharField(max_length=200, blank=True, default="")
    callee_channel = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["caller", "-created_at"], name="call_caller_idx"),
            models.Index(fields=["callee", "-created_at"], name="call_callee_idx"),
            models.Index(
                fields=["created_at"],
                name="call_ringing_idx",
                condition=Q(status="ringing"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.media} call {self.caller_id} → {self.callee_id}: {self.status}"

    @property
    def duration_seconds(self) -> int:
        if self.answered_at is None or self.ended_at is None:
            return 0
        return int((self.ended_at - self.answered_at).total_seconds())
