from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aurum.serializers import StrictSerializer
from matching.models import Interest, InterestStatus
from profiles.serializers import CardOut


class InterestIn(StrictSerializer):
    to_profile = serializers.CharField(max_length=64)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class InterestQuery(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=["received", "sent"], required=False, default="received"
    )
    status = serializers.ChoiceField(choices=InterestStatus.choices, required=False)


class InterestOut(serializers.Serializer):
    id = serializers.UUIDField()
    from_profile = serializers.UUIDField(source="sender_id")
    to_profile = serializers.UUIDField(source="receiver_id")
    status = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    other = serializers.SerializerMethodField(help_text="The other member, as a card.")

    @extend_schema_field(CardOut(allow_null=True))
    def get_other(self, interest: Interest) -> Any:
        viewer = self.context["viewer"]
        other = interest.receiver if interest.sender_id == viewer.pk else interest.sender
        profile = getattr(other, "profile", None)
        if profile is None:
            return None
        return CardOut(profile, context=self.context).data


class ShortlistOut(serializers.Serializer):
    created_at = serializers.DateTimeField()
    profile = serializers.SerializerMethodField()

    @extend_schema_field(CardOut(allow_null=True))
    def get_profile(self, item: Any) -> Any:
        profile = getattr(item.target, "profile", None)
        return CardOut(profile, context=self.context).data if profile is not None else None
