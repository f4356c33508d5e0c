from __future__ import annotations

from datetime import time

from django.db.models import F, Q, QuerySet

from accounts.models import User
from notifications.models import Notification, Preferences


def notifications_of(*, viewer: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=viewer)


def unread_count(*, viewer: User) -> int:
    return Notification.objects.filter(recipient=viewer, read_at__isnull=True).count()


def digest_audience(*, field: str, frequency: str, local_time: time) -> QuerySet[User]:
    """Active members who chose `frequency` for the digest `field` ("digest_matches" or
    "digest_interests") and are outside their quiet hours at `local_time`. Members who never
    set preferences have the defaults (daily; quiet from 22:00 to 08:00)."""
    defaults = Preferences()
    chose = Q(**{f"notification_preferences__{field}": frequency})
    if getattr(defaults, field) == frequency:
        chose |= Q(notification_preferences__isnull=True)
    start, end = "notification_preferences__quiet_from", "notification_preferences__quiet_until"
    # Quiet hours may run past midnight (22:00-08:00) or not (13:00-15:00); equal is none.
    quiet_same_day = Q(
        **{f"{start}__lt": F(end), f"{start}__lte": local_time, f"{end}__gt": local_time}
    )
    quiet_overnight = Q(**{f"{start}__gt": F(end)}) & (
        Q(**{f"{start}__lte": local_time}) | Q(**{f"{end}__gt": local_time})
    )
    default_quiet = _in_quiet(defaults.quiet_from, defaults.quiet_until, local_time)
    quiet = quiet_same_day | quiet_overnight
    if default_quiet:
        quiet |= Q(notification_preferences__isnull=True)
    return User.objects.filter(chose, is_active=True, deleted_at__isnull=True).exclude(quiet)


def _in_quiet(start: time, end: time, moment: time) -> bool:
    if start < end:
        return start <= moment < end
    return start > end and (moment >= start or moment < end)
