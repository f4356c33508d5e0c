from __future__ import annotations

from rest_framework import serializers

from accounts.serializers import PhoneField, RegisterSerializer
from aurum.serializers import StrictSerializer
from profiles.choices import CreatedBy, VerificationStatus


class SignupIn(RegisterSerializer):
    """`auth/register`'s body with the phone required, plus onboarding's own fields."""

    phone = PhoneField()
    whatsapp = PhoneField(required=False, allow_null=True, allow_blank=True)
    created_by = serializers.ChoiceField(
        choices=CreatedBy.choices, required=False, default=CreatedBy.SELF
    )


class SignupOut(serializers.Serializer):
    user_id = serializers.UUIDField()
    profile_code = serializers.CharField()
    message = serializers.CharField()


class VerificationStatusOut(serializers.Serializer):
    admin_approved = serializers.BooleanField()
    verification_status = serializers.ChoiceField(choices=VerificationStatus.choices)
    admin_notes = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)


class DecisionIn(StrictSerializer):
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class QueueItemOut(serializers.Serializer):
    user_id = serializers.UUIDField(source="user.id")
    profile_code = serializers.CharField(source="user.profile_code")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    gender = serializers.CharField(allow_null=True)
    date_of_birth = serializers.DateField(allow_null=True)
    religion = serializers.CharField(allow_null=True)
    caste = serializers.CharField(allow_null=True)
    district = serializers.CharField(allow_null=True)
    verification_status = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
