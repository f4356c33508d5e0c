from __future__ import annotations

import datetime
import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aurum.serializers import StrictSerializer
from notifications.choices import DigestFrequency
from notifications.models import MAX_TOKEN_LENGTH, Kind, Platform

CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@extend_schema_field(
    {"type": "string", "pattern": "^([01]\\d|2[0-3]):[0-5]\\d$", "example": "22:00"}
)
class ClockTime(serializers.Field):
    """A time of day as "HH:MM" (OpenAPI's `time` format wants seconds and an offset)."""

    default_error_messages = {"invalid": 'A time of day as "HH:MM", e.g. "22:00".'}

    def to_internal_value(self, data: Any) -> datetime.time:
        match = CLOCK.fullmatch(data) if isinstance(data, str) else None
        if match is None:
            self.fail("invalid")
        return datetime.time(int(match[1]), int(match[2]))

    def to_representation(self, value: datetime.time) -> str:
        return f"{value:%H:%M}"


class NotificationOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    data = serializers.DictField()
    read = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_read(self, obj: object) -> bool:
        return getattr(obj, "read_at", None) is not None


class MarkReadIn(StrictSerializer):
    ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError({"ids": ["Give ids, or all: true."]})
        return attrs


class MarkReadOut(serializers.Serializer):
    marked = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class DeviceIn(StrictSerializer):
    # FCM and APNs tokens are printable ASCII without spaces; taken as sent, never trimmed.
    token = serializers.RegexField(
        r"^[\x21-\x7e]+\Z", max_length=MAX_TOKEN_LENGTH, trim_whitespace=False
    )
    platform = serializers.ChoiceField(choices=Platform.choices)


class DeviceOut(serializers.Serializer):
    token = serializers.CharField()
    platform = serializers.CharField()
    last_seen_at = serializers.DateTimeField()


class PreferencesIO(StrictSerializer):
    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)
    muted_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=Kind.choices), required=False, max_length=50
    )
    digest_matches = serializers.ChoiceField(
        choices=DigestFrequency.choices,
        required=False,
        help_text='"New matches for you": as they come, daily (the default), weekly or never.',
    )
    digest_interests = serializers.ChoiceField(
        choices=DigestFrequency.choices,
        required=False,
        help_text='"Interests waiting for your answer": the same choices.',
    )
    quiet_from = ClockTime(required=False, help_text="Quiet hours start (India time), e.g. 22:00.")
    quiet_until = ClockTime(
        required=False, help_text="Quiet hours end, e.g. 08:00: no digest between."
    )
