from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Notification


def notifications_of(*, viewer: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=viewer)


def unread_count(*, viewer: User) -> int:
    return Notification.objects.filter(recipient=viewer, read_at__isnull=True).count()
