from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import policy
from aurum.errors import NotFound
from aurum.permissions import has_staff_powers
from profiles import serializers, services
from profiles.choices import all_choices
from profiles.models import Profile
from profiles.signals import profile_viewed

TAG = ["profiles"]


def own_profile_response(profile: Any, request: Request) -> Response:
    return Response(serializers.OwnProfileOut(profile, context={"viewer": request.user}).data)


class MyProfileView(APIView):
    @extend_schema(tags=TAG, responses={200: serializers.OwnProfileOut})
    def get(self, request: Request) -> Response:
        return own_profile_response(services.profile_for_member(user=request.user), request)

    @extend_schema(
        tags=TAG, request=serializers.ProfileUpdateIn, responses={200: serializers.OwnProfileOut}
    )
    def patch(self, request: Request) -> Response:
        data = serializers.ProfileUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(
            profile=services.profile_for_member(user=request.user), sections=data.validated_data
        )
        return own_profile_response(profile, request)


class ProfileDetailView(APIView):
    @extend_schema(
        tags=TAG,
        responses={200: serializers.ProfileOut, 404: OpenApiResponse(description="Not visible")},
    )
    def get(self, request: Request, public_id: str) -> Response:
        seen = policy.profile_seen(viewer=request.user, public_id=public_id)
        if seen is None:
            raise NotFound()
        profile = seen.profile
        if profile.pk != request.user.pk and not has_staff_powers(request.user):
            profile_viewed.send(sender=Profile, viewer=request.user, profile=profile)
        context = {"viewer": request.user, "photo": seen.photo, "contact": seen.contact}
        return Response(serializers.ProfileOut(profile, context=context).data)


class ChoicesView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        tags=TAG,
        responses={200: OpenApiResponse(description="Every enumerated choice, by name.")},
    )
    def get(self, request: Request) -> Response:
        response = Response(all_choices())
        response["Cache-Control"] = "public, max-age=3600"
        return response
