from __future__ import annotations

from rest_framework import serializers

from aurum.serializers import StrictSerializer
from moderation.models import ReportAction, ReportReason, ReportStatus


class BlockIn(StrictSerializer):
    blocked_user_id = serializers.CharField(max_length=64)


class BlockOut(serializers.Serializer):
    user_id = serializers.UUIDField(source="blocked.id")
    profile_code = serializers.CharField(source="blocked.profile_code")
    first_name = serializers.CharField(source="blocked.first_name")
    created_at = serializers.DateTimeField()


class ReportIn(StrictSerializer):
    reported_user = serializers.CharField(max_length=64)
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReportOut(serializers.Serializer):
    id = serializers.UUIDField()
    reported_user = serializers.UUIDField(source="reported_id")
    reason = serializers.CharField()
    details = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class MemberRef(serializers.Serializer):
    id = serializers.UUIDField()
    profile_code = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    is_active = serializers.BooleanField()


class StaffReportOut(ReportOut):
    reporter = MemberRef()
    reported = MemberRef()
    flagged = serializers.BooleanField()
    action = serializers.CharField(allow_null=True)
    notes = serializers.CharField()
    resolved_by = serializers.UUIDField(source="resolved_by_id", allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class ResolveIn(StrictSerializer):
    action = serializers.ChoiceField(choices=ReportAction.choices)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReportQueueQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReportStatus.choices, required=False)
