from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class InterestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Interest(models.Model):
    """The one state machine between two members: one row per pair, whoever sent first.

    `member_low`/`member_high` hold the pair in a fixed order, so a unique constraint makes
    "one row per pair" true even when both members send at the same moment.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="interests_sent"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="interests_received"
    )
    member_low = models.UUIDField(editable=False)
    member_high = models.UUIDField(editable=False)
    status = models.CharField(
        max_length=10, choices=InterestStatus.choices, default=InterestStatus.PENDING
    )
    message = models.CharField(max_length=500, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-updated_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["member_low", "member_high"], name="interest_one_per_pair"
            ),
            models.CheckConstraint(condition=~Q(sender=F("receiver")), name="interest_not_self"),
        ]
        indexes = [
            models.Index(fields=["receiver", "status", "-updated_at"], name="interest_inbox_idx"),
            models.Index(fields=["sender", "status", "-updated_at"], name="interest_outbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sender_id} → {self.receiver_id}: {self.status}"

    def save(self, *args: object, **kwargs: object) -> None:
        low, high = sorted([self.sender_id, self.receiver_id], key=str)
        self.member_low, self.member_high = low, high
        super().save(*args, **kwargs)


class InterestSend(models.Model):
    """One send of an interest. A re-send after a withdraw or a decline reuses the pair's
    `Interest` row, so the daily limit counts these, and they say whether the receiver was
    told of a send from this member lately."""

    # Indexed by `interest_send_idx`, which leads with it.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    notified = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["sender", "-created_at"], name="interest_send_idx")]

    def __str__(self) -> str:
        return f"{self.sender_id} sent to {self.receiver_id} at {self.created_at}"


class Shortlist(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shortlist"
    )
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["owner", "target"], name="shortlist_once"),
            models.CheckConstraint(condition=~Q(owner=F("target")), name="shortlist_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} shortlisted {self.target_id}"


class Ignore(models.Model):
    """Hidden from the owner's feed and search (not from anything else)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ignored"
    )
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["owner", "target"], name="ignore_once"),
            models.CheckConstraint(condition=~Q(owner=F("target")), name="ignore_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} ignores {self.target_id}"


class ProfileVisit(models.Model):
    """A member opened another member's profile: at most one row per viewer, profile and day."""

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visits_made"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visits_received"
    )
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["viewer", "owner", "day"], name="visit_once_a_day"),
            models.CheckConstraint(condition=~Q(viewer=F("owner")), name="visit_not_self"),
        ]
        indexes = [models.Index(fields=["owner", "-created_at"], name="visit_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.viewer_id} visited {self.owner_id} on {self.day}"


class DigestKind(models.TextChoices):
    MATCHES = "matches", "New matches"
    INTERESTS = "interests", "Unanswered interests"


class Digest(models.Model):
    """One digest a member got (or was due and had nothing new): at most one per kind and
    period ("2026-12-03" daily, "2026-W49" weekly, a quarter-hour slot when immediate)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests"
    )
    kind = models.CharField(max_length=10, choices=DigestKind.choices)
    period = models.CharField(max_length=24)
    # Whom it named, as space-separated member ids: a member who deletes their account is
    # found here (a substring match, on any database) and their digests' notifications go.
    named = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "period"], name="digest_once_per_period"
            )
        ]
        indexes = [models.Index(fields=["user", "kind", "-created_at"], name="digest_last_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id}, {self.period}"
