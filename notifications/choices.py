"""What a notification can be about and how it travels: plain choices other apps name when
they notify (they import this, never notifications' models)."""

from django.db import models


class Kind(models.TextChoices):
    VERIFICATION_APPROVED = "verification_approved", "Profile approved"
    VERIFICATION_REJECTED = "verification_rejected", "Profile not approved"
    REPORT_RESOLVED = "report_resolved", "Your report was reviewed"
    WARNING = "warning", "Warning from the moderators"
    SUSPENSION = "suspension", "Account suspended"
    PHOTO_APPROVED = "photo_approved", "Photo approved"
    PHOTO_REJECTED = "photo_rejected", "Photo not approved"
    INTEREST_RECEIVED = "interest_received", "New interest"
    INTEREST_ACCEPTED = "interest_accepted", "Interest accepted"
    INTEREST_DECLINED = "interest_declined", "Interest declined"
    MESSAGE_RECEIVED = "message_received", "New message"
    CALL_MISSED = "call_missed", "Missed call"
    INACTIVITY_NOTICE = "inactivity_notice", "Profile about to be hidden for inactivity"
    DIGEST_MATCHES = "digest_matches", "New matches for you"
    DIGEST_INTERESTS = "digest_interests", "Interests waiting for your answer"


class DigestFrequency(models.TextChoices):
    """How often a member hears "new matches for you" and "unanswered interests"."""

    IMMEDIATE = "immediate", "As they come"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    NEVER = "never", "Never"
