from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Block(models.Model):
    """`blocker` never sees `blocked` again, nor `blocked` them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once_per_pair"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class ReportReason(models.TextChoices):
    FAKE_PROFILE = "fake_profile", "Fake profile"
    INAPPROPRIATE_PHOTO = "inappropriate_photo", "Inappropriate photo"
    HARASSMENT = "harassment", "Harassment"
    MONEY_SCAM = "money_scam", "Asking for money / scam"
    ALREADY_MARRIED = "already_married", "Already married"
    OFFENSIVE_MESSAGES = "offensive_messages", "Offensive messages"
    OTHER = "other", "Other"


class ReportStatus(models.TextChoices):
    PENDING = "Pending", "Pending"
    RESOLVED = "Resolved", "Resolved"


class ReportAction(models.TextChoices):
    DISMISS = "dismiss", "Dismiss"
    WARN = "warn", "Warn the member"
    SUSPEND = "suspend", "Suspend the account"


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reported = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_received"
    )
    reason = models.CharField(max_length=24, choices=ReportReason.choices)
    details = models.TextField(max_length=2000, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    flagged = models.BooleanField(
        default=False,
        help_text="Several members reported this member within days: hidden pending review.",
    )
    action = models.CharField(max_length=10, choices=ReportAction.choices, null=True, blank=True)
    notes = models.TextField(max_length=2000, blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "reported"],
                condition=Q(status="Pending"),
                name="report_one_open_per_pair",
            ),
            models.CheckConstraint(condition=~Q(reporter=F("reported")), name="report_not_self"),
            models.CheckConstraint(
                condition=Q(status="Pending", action__isnull=True)
                | Q(status="Resolved", action__isnull=False),
                name="report_action_when_resolved",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-flagged", "created_at"], name="report_queue_idx"),
            models.Index(fields=["reported", "created_at"], name="report_reported_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} report on {self.reported.profile_code}"
