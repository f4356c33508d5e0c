from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import selectors
from accounts.models import Role, User
from accounts.phone import InvalidPhone, normalize_phone
from aurum.serializers import StrictSerializer


class PhoneField(serializers.CharField):
    """A phone number in any common form, stored and returned in E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_phone(value)
        except InvalidPhone as exc:
            raise serializers.ValidationError(str(exc)) from exc


class UserSerializer(serializers.Serializer):
    """The account as the API's `user`. Declared field by field: a ModelSerializer rebuilds its
    fields from the model on every use, which costs a login about a millisecond."""

    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True, allow_null=True)
    phone = serializers.CharField(read_only=True, allow_null=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    admin_approved = serializers.BooleanField(read_only=True)
    mfa_enabled = serializers.SerializerMethodField()
    profile_code = serializers.CharField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.BooleanField())
    def get_mfa_enabled(self, user: User) -> bool:
        return selectors.mfa_enabled(user=user)


class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(
        required=False, allow_null=True, allow_blank=True, max_length=254
    )
    phone = PhoneField(required=False, allow_null=True, allow_blank=True)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    first_name = serializers.CharField(max_length=60)
    last_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError({"email": ["Give an email or a phone number."]})
        return attrs


class LoginSerializer(StrictSerializer):
    identifier = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    mfa_code = serializers.RegexField(r"^\d{6}$", required=False, allow_blank=True, allow_null=True)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()


class LoginResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class RefreshSerializer(StrictSerializer):
    refresh_token = serializers.CharField(max_length=2048)


class OtpSendSerializer(StrictSerializer):
    phone = PhoneField()


class OtpVerifySerializer(StrictSerializer):
    phone = PhoneField()
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": "Enter the 6-digit code."})
    mfa_code = serializers.RegexField(r"^\d{6}$", required=False, allow_blank=True, allow_null=True)


class ResetRequestSerializer(StrictSerializer):
    identifier = serializers.CharField(max_length=254)


class ResetConfirmSerializer(StrictSerializer):
    identifier = serializers.CharField(max_length=254)
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": "Enter the 6-digit code."})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class MfaCodeSerializer(StrictSerializer):
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": "Enter the 6-digit code."})


class MfaDisableSerializer(MfaCodeSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class MfaConfirmSerializer(MfaDisableSerializer):
    """The new device's code and the password: a stolen access token alone cannot turn MFA
    on (and lock the member out)."""


class ReauthIn(StrictSerializer):
    """Recent authentication: the password, and the authenticator code when MFA is on."""

    password = serializers.CharField(trim_whitespace=False, max_length=256)
    mfa_code = serializers.CharField(required=False, max_length=12)


class AccountDeleteIn(ReauthIn):
    pass
