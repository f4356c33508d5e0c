"""A delivery: one message to one address through an outside provider (an SMS, an email, a
push to one device), written in the same transaction as what caused it, so that nothing the
server decided to send is lost when a process dies or a provider is down."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    PUSH = "push", "Push"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    GAVE_UP = "gave_up", "Gave up"


class Delivery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # What it is, for people and for the provider's templates: "code.login", "notification.<kind>".
    template = models.CharField(max_length=64)
    label = models.CharField(max_length=140)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    address = models.CharField(max_length=512)
    # The message itself (text, subject, push data), encrypted: an SMS may carry a login code.
    # Emptied once sent; `deliveries.services` seals and opens it.
    payload = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=200, unique=True)
    # Code deliveries go on their own queue, so a slow email provider never delays a login.
    urgent = models.BooleanField("login code", default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    provider_id = models.CharField(max_length=200, blank=True, default="")
    # A sender holds the row until `claimed_until`; past it, a killed sender's row is free again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When the sweeper should queue it again if no task has sent it by then.
    next_attempt_at = models.DateTimeField()
    # A login code is worthless after it expires: the delivery gives up instead of sending it.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "deliveries"
        indexes = [
            # The sweeper's scan: only rows still to send are in the index.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="delivery_due_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="delivery_status_idx"),
            models.Index(fields=["-created_at"], name="delivery_created_idx"),  # the admin list
            models.Index(fields=["user", "-created_at"], name="delivery_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.label} by {self.get_channel_display()}"
