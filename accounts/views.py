from __future__ import annotations

import io
import json
from dataclasses import asdict
from typing import Any

import qrcode
import qrcode.image.pil
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, serializers, services
from accounts.models import User
from aurum import ratelimit
from aurum.net import client_ip

TAG = ["auth"]
NO_CONTENT = {204: OpenApiResponse(description="Done.")}
ACCEPTED = {202: OpenApiResponse(description="Accepted; nothing more is said.")}


def _login_response(user: User, tokens: services.TokenPair) -> Response:
    body = {**asdict(tokens), "user": serializers.UserSerializer(user).data}
    return Response(body)


def _validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PublicView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []


class RegisterView(PublicView):
    @extend_schema(
        tags=TAG,
        request=serializers.RegisterSerializer,
        responses={201: serializers.UserSerializer},
    )
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "register_ip")
        data = _validated(serializers.RegisterSerializer, request)
        user = services.user_register(**data, ip=client_ip(request))
        return Response(serializers.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(PublicView):
    @extend_schema(
        tags=TAG,
        request=serializers.LoginSerializer,
        responses={200: serializers.LoginResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "login_ip")
        data = _validated(serializers.LoginSerializer, request)
        user = selectors.user_by_identifier(identifier=data["identifier"])
        ratelimit.enforce(
            request, "login_identifier", selectors.account_key(user, data["identifier"])
        )
        tokens = services.auth_login(
            user=user,
            password=data["password"],
            mfa_code=data.get("mfa_code") or None,
            ip=client_ip(request),
        )
        assert user is not None
        return _login_response(user, tokens)


class RefreshView(PublicView):
    @extend_schema(
        tags=TAG,
        request=serializers.RefreshSerializer,
        responses={200: serializers.TokenPairSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _validated(serializers.RefreshSerializer, request)
        tokens = services.token_refresh(refresh_token=data["refresh_token"])
        return Response(asdict(tokens))


class LogoutView(PublicView):
    @extend_schema(tags=TAG, request=serializers.RefreshSerializer, responses=NO_CONTENT)
    def post(self, request: Request) -> Response:
        data = _validated(serializers.RefreshSerializer, request)
        services.token_logout(refresh_token=data["refresh_token"], ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    delete_with_body = True  # the password (aurum.schema.AutoSchema documents it)

    @extend_schema(tags=TAG, responses={200: serializers.UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(serializers.UserSerializer(request.user).data)

    @extend_schema(
        tags=TAG,
        summary="Delete my account",
        description="Removes the profile, photos (from storage too), interests, shortlists, "
        "visits, blocks, devices, notifications and sessions; the account stays as an "
        "anonymous 'Deleted member', so the other member of a conversation keeps its "
        "messages. Needs the password, and the authenticator code when MFA is on.",
        request=serializers.AccountDeleteIn,
        responses=NO_CONTENT,
    )
    def delete(self, request: Request) -> Response:
        ratelimit.enforce(request, "account_delete_user", str(request.user.pk))
        data = _validated(serializers.AccountDeleteIn, request)
        services.account_delete(user=request.user, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(APIView):
    @extend_schema(
        tags=TAG,
        summary="A copy of everything Aurum holds on me",
        description="One JSON object, part by part (account, profile, photos as signed URLs, "
        "interests, shortlists, visits, blocks, reports filed, conversations and the "
        "messages I sent, calls, notifications, devices, preferences). Needs the password, "
        "and the authenticator code when MFA is on: an access token alone is not enough.",
        request=serializers.ReauthIn,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "account_export_user", str(request.user.pk))
        data = _validated(serializers.ReauthIn, request)
        return Response(services.account_export(user=request.user, **data))


class OtpSendView(PublicView):
    @extend_schema(tags=TAG, request=serializers.OtpSendSerializer, responses=ACCEPTED)
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "otp_send_ip")
        data = _validated(serializers.OtpSendSerializer, request)
        ratelimit.enforce(request, "otp_send_phone_hour", data["phone"])
        ratelimit.enforce(request, "otp_send_phone_day", data["phone"])
        services.otp_send(phone=data["phone"])
        return Response(
            {"detail": "If the number belongs to an account, a code is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class OtpVerifyView(PublicView):
    @extend_schema(
        tags=TAG,
        request=serializers.OtpVerifySerializer,
        responses={200: serializers.LoginResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "code_verify_ip")
        data = _validated(serializers.OtpVerifySerializer, request)
        ratelimit.enforce(request, "code_verify_identifier", data["phone"])  # E.164 already
        user, tokens = services.otp_verify(
            phone=data["phone"],
            code=data["code"],
            mfa_code=data.get("mfa_code") or None,
            ip=client_ip(request),
        )
        return _login_response(user, tokens)


class PasswordResetRequestView(PublicView):
    @extend_schema(tags=TAG, request=serializers.ResetRequestSerializer, responses=ACCEPTED)
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "password_reset_ip")
        data = _validated(serializers.ResetRequestSerializer, request)
        key = selectors.normalize_identifier(data["identifier"]) or data["identifier"]
        ratelimit.enforce(request, "password_reset_identifier", key)
        if key.startswith("+"):
            # A reset by phone is an SMS: the same per-phone budget as login codes.
            ratelimit.enforce(request, "otp_send_phone_hour", key)
            ratelimit.enforce(request, "otp_send_phone_day", key)
        services.password_reset_request(identifier=data["identifier"])
        return Response(
            {"detail": "If the account exists, a code is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(PublicView):
    @extend_schema(tags=TAG, request=serializers.ResetConfirmSerializer, responses=NO_CONTENT)
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "code_verify_ip")
        data = _validated(serializers.ResetConfirmSerializer, request)
        user = selectors.user_by_identifier(identifier=data["identifier"])
        ratelimit.enforce(
            request, "code_verify_identifier", selectors.account_key(user, data["identifier"])
        )
        services.password_reset_confirm(
            user=user, code=data["code"], new_password=data["new_password"], ip=client_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _session_id(request: Request) -> str | None:
    return request.auth.get(services.SESSION_CLAIM) if request.auth else None


class PasswordChangeView(APIView):
    @extend_schema(tags=TAG, request=serializers.PasswordChangeSerializer, responses=NO_CONTENT)
    def post(self, request: Request) -> Response:
        data = _validated(serializers.PasswordChangeSerializer, request)
        services.password_change(
            user=request.user,
            session_id=_session_id(request),
            ip=client_ip(request),
            **data,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PngRenderer(BaseRenderer):
    """Lets a client ask for `Accept: image/png`; errors still go out as JSON bytes."""

    media_type = "image/png"
    format = "png"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class MfaQrCodeView(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, PngRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON, whatever was asked for (finalize_response reads the request's choice).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)

    @extend_schema(
        tags=TAG,
        responses={
            (200, "image/png"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="QR code of the otpauth:// URI, which is also in X-OTPAuth-URI.",
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        device = services.mfa_start(user=request.user)
        uri = device.config_url
        image = qrcode.make(uri, image_factory=qrcode.image.pil.PilImage, box_size=8, border=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        response = HttpResponse(buffer.getvalue(), content_type="image/png")
        response["X-OTPAuth-URI"] = uri
        response["Cache-Control"] = "no-store"
        return response


class MfaConfirmView(APIView):
    @extend_schema(tags=TAG, request=serializers.MfaConfirmSerializer, responses=NO_CONTENT)
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "mfa_verify_user", str(request.user.pk))
        data = _validated(serializers.MfaConfirmSerializer, request)
        services.mfa_confirm(user=request.user, ip=client_ip(request), **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MfaDisableView(APIView):
    @extend_schema(tags=TAG, request=serializers.MfaDisableSerializer, responses=NO_CONTENT)
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "mfa_verify_user", str(request.user.pk))
        data = _validated(serializers.MfaDisableSerializer, request)
        services.mfa_disable(user=request.user, ip=client_ip(request), **data)
        return Response(status=status.HTTP_204_NO_CONTENT)
