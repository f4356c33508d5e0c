from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aurum.pagination import CreatedCursorPagination
from notifications import selectors, serializers, services
from notifications.models import Notification

TAG = ["notifications"]


class NotificationPages(CreatedCursorPagination):
    """Newest first, with the unread count beside the page."""

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread_count"] = selectors.unread_count(viewer=self.request.user)
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["properties"]["unread_count"] = {"type": "integer"}
        return paged


class NotificationListView(generics.ListAPIView):
    serializer_class = serializers.NotificationOut
    pagination_class = NotificationPages

    @extend_schema(tags=TAG)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of notifications
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_of(viewer=self.request.user)


class MarkReadView(APIView):
    @extend_schema(
        tags=TAG, request=serializers.MarkReadIn, responses={200: serializers.MarkReadOut}
    )
    def post(self, request: Request) -> Response:
        data = serializers.MarkReadIn(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.mark_read(
            user=request.user,
            ids=data.validated_data.get("ids"),
            everything=data.validated_data["all"],
        )
        return Response(
            {"marked": marked, "unread_count": selectors.unread_count(viewer=request.user)}
        )


class DeviceView(APIView):
    @extend_schema(
        tags=TAG,
        request=serializers.DeviceIn,
        responses={201: serializers.DeviceOut, 200: serializers.DeviceOut},
        description="201 for a new token, 200 when it was registered already.",
    )
    def post(self, request: Request) -> Response:
        data = serializers.DeviceIn(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = services.device_register(user=request.user, **data.validated_data)
        return Response(
            serializers.DeviceOut(device).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DeviceDeleteView(APIView):
    @extend_schema(tags=TAG, responses={204: OpenApiResponse(description="Removed.")})
    def delete(self, request: Request, token: str) -> Response:
        services.device_remove(user=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreferencesView(APIView):
    @extend_schema(tags=TAG, responses={200: serializers.PreferencesIO})
    def get(self, request: Request) -> Response:
        return Response(serializers.PreferencesIO(services.preferences_of(request.user)).data)

    @extend_schema(
        tags=TAG, request=serializers.PreferencesIO, responses={200: serializers.PreferencesIO}
    )
    def patch(self, request: Request) -> Response:
        data = serializers.PreferencesIO(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        prefs = services.preferences_update(user=request.user, changes=data.validated_data)
        return Response(serializers.PreferencesIO(prefs).data)
