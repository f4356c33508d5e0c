from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_by_public_id
from matching import selectors, serializers, services
from matching.models import Interest, Shortlist

TAG = ["matching"]
DONE = {204: OpenApiResponse(description="Done (also when nothing was there).")}


class ShortlistView(APIView):
    @extend_schema(tags=TAG, request=None, responses={201: serializers.ShortlistOut})
    def post(self, request: Request, profile_id: str) -> Response:
        item = services.shortlist_add(
            owner=request.user, target=user_by_public_id(value=profile_id)
        )
        return Response(
            serializers.ShortlistOut(item, context={"viewer": request.user}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(tags=TAG, responses=DONE)
    def delete(self, request: Request, profile_id: str) -> Response:
        services.shortlist_remove(owner=request.user, target=user_by_public_id(value=profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShortlistedView(generics.ListAPIView):
    serializer_class = serializers.ShortlistOut

    @extend_schema(tags=TAG)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of shortlist entries
        if getattr(self, "swagger_fake_view", False):
            return Shortlist.objects.none()
        return selectors.shortlist_of(viewer=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "viewer": self.request.user}


class IgnoreView(APIView):
    @extend_schema(tags=TAG, request=None, responses=DONE)
    def post(self, request: Request, profile_id: str) -> Response:
        services.ignore_add(owner=request.user, target=user_by_public_id(value=profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=TAG, responses=DONE)
    def delete(self, request: Request, profile_id: str) -> Response:
        services.ignore_remove(owner=request.user, target=user_by_public_id(value=profile_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InterestsView(generics.ListAPIView):
    serializer_class = serializers.InterestOut

    @extend_schema(tags=TAG, parameters=[serializers.InterestQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of interests
        if getattr(self, "swagger_fake_view", False):
            return Interest.objects.none()
        query = serializers.InterestQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.interests_of(
            viewer=self.request.user,
            direction=query.validated_data["direction"],
            status=query.validated_data.get("status"),
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "viewer": self.request.user}

    @extend_schema(
        tags=TAG, request=serializers.InterestIn, responses={201: serializers.InterestOut}
    )
    def post(self, request: Request) -> Response:
        data = serializers.InterestIn(data=request.data)
        data.is_valid(raise_exception=True)
        interest = services.interest_send(
            sender=request.user,
            receiver=user_by_public_id(value=data.validated_data["to_profile"]),
            message=data.validated_data["message"],
        )
        return Response(
            serializers.InterestOut(interest, context={"viewer": request.user}).data,
            status=status.HTTP_201_CREATED,
        )


class InterestActionView(APIView):
    action_name = ""
    ACTIONS = {
        "accept": services.interest_accept,
        "decline": services.interest_decline,
        "withdraw": services.interest_withdraw,
    }

    @extend_schema(tags=TAG, request=None, responses={200: serializers.InterestOut})
    def post(self, request: Request, interest_id: str) -> Response:
        interest = self.ACTIONS[self.action_name](
            user=request.user, interest=selectors.interest_by_id(value=interest_id)
        )
        return Response(serializers.InterestOut(interest, context={"viewer": request.user}).data)
