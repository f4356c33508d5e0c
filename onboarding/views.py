from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_by_public_id
from aurum import ratelimit
from aurum.errors import Invalid
from aurum.net import client_ip
from aurum.pagination import CreatedCursorPagination
from aurum.permissions import IsModerator
from onboarding import serializers, services
from profiles import selectors as profile_selectors
from profiles.serializers import CompleteProfileIn, OwnProfileOut

TAG = ["onboarding"]


class SignupView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(tags=TAG, request=serializers.SignupIn, responses={201: serializers.SignupOut})
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "register_ip")
        data = serializers.SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, _ = services.member_signup(**data.validated_data, ip=client_ip(request))
        return Response(
            {
                "user_id": user.pk,
                "profile_code": user.profile_code,
                "message": "Welcome to Aurum. Complete your profile to be verified.",
            },
            status=status.HTTP_201_CREATED,
        )


class CompleteProfileView(APIView):
    @extend_schema(tags=TAG, request=CompleteProfileIn, responses={200: OwnProfileOut})
    def post(self, request: Request, user_id: str) -> Response:
        # Who may is asked before the body is read: another member's id answers 404 whatever
        # the body holds.
        profile = services.member_profile_for(
            actor=request.user, member=user_by_public_id(value=user_id)
        )
        data = CompleteProfileIn(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_complete(
            actor=request.user, profile=profile, sections=data.validated_data, ip=client_ip(request)
        )
        return Response(OwnProfileOut(profile, context={"viewer": request.user}).data)


class VerificationStatusView(APIView):
    @extend_schema(tags=TAG, responses={200: serializers.VerificationStatusOut})
    def get(self, request: Request, user_id: str) -> Response:
        result = services.verification_status(
            actor=request.user, member=user_by_public_id(value=user_id)
        )
        return Response(serializers.VerificationStatusOut(result).data)


class QueuePagination(CreatedCursorPagination):
    ordering = profile_selectors.QUEUE_ORDERING


class PendingVerificationsView(generics.ListAPIView):
    permission_classes = [IsModerator]
    serializer_class = serializers.QueueItemOut
    pagination_class = QueuePagination

    @extend_schema(tags=TAG)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of profiles
        return profile_selectors.pending_verifications()


class VerifyUserView(APIView):
    permission_classes = [IsModerator]

    @extend_schema(
        tags=TAG,
        parameters=[
            OpenApiParameter("approved", OpenApiTypes.BOOL, required=True, enum=[True, False])
        ],
        request=serializers.DecisionIn,
        responses={200: serializers.VerificationStatusOut},
    )
    def post(self, request: Request, user_id: str) -> Response:
        raw = request.query_params.get("approved", "").lower()
        if raw not in {"true", "false"}:
            raise Invalid("Say ?approved=true or ?approved=false.", "invalid")
        data = serializers.DecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        member = user_by_public_id(value=user_id)
        services.verification_decide(
            reviewer=request.user,
            member=member,
            approved=raw == "true",
            notes=data.validated_data["notes"],
            ip=client_ip(request),
        )
        result = services.verification_status(actor=request.user, member=member)
        return Response(serializers.VerificationStatusOut(result).data)
