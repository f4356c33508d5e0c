from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework import serializers as drf_serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_by_public_id
from aurum import ratelimit
from aurum.net import client_ip
from aurum.permissions import IsModerator
from moderation import selectors, serializers, services
from moderation.models import Block, ReportStatus

TAG = ["moderation"]


class BlockView(APIView):
    @extend_schema(tags=TAG, request=serializers.BlockIn, responses={201: serializers.BlockOut})
    def post(self, request: Request) -> Response:
        data = serializers.BlockIn(data=request.data)
        data.is_valid(raise_exception=True)
        block, created = services.block_create(
            blocker=request.user,
            blocked=user_by_public_id(value=data.validated_data["blocked_user_id"]),
        )
        return Response(
            serializers.BlockOut(block).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class UnblockView(APIView):
    @extend_schema(tags=TAG, responses={204: OpenApiResponse(description="Not blocked now.")})
    def delete(self, request: Request, user_id: str) -> Response:
        services.block_delete(blocker=request.user, blocked=user_by_public_id(value=user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockListView(generics.ListAPIView):
    serializer_class = serializers.BlockOut

    @extend_schema(tags=TAG)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of blocks
        if getattr(self, "swagger_fake_view", False):
            return Block.objects.none()
        return selectors.blocks_of(viewer=self.request.user)


class ReportView(APIView):
    @extend_schema(tags=TAG, request=serializers.ReportIn, responses={201: serializers.ReportOut})
    def post(self, request: Request) -> Response:
        ratelimit.enforce(request, "report_user", str(request.user.pk))
        data = serializers.ReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_create(
            reporter=request.user,
            reported=user_by_public_id(value=data.validated_data["reported_user"]),
            reason=data.validated_data["reason"],
            details=data.validated_data["details"],
            ip=client_ip(request),
        )
        return Response(serializers.ReportOut(report).data, status=status.HTTP_201_CREATED)


class QueuePages(PageNumberPagination):
    """Flagged first, then oldest: an order a cursor cannot follow, and a queue that stays
    short, so plain pages."""

    page_size = 50

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and not re.fullmatch(r"[0-9]{1,6}", raw):
            raise drf_serializers.ValidationError({"page": ["A page number: 1, 2, 3…"]})
        return super().get_page_number(request, paginator)


class StaffReportListView(generics.ListAPIView):
    permission_classes = [IsModerator]
    serializer_class = serializers.StaffReportOut
    pagination_class = QueuePages

    @extend_schema(
        tags=TAG,
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ReportStatus.values, required=False)
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of reports
        query = serializers.ReportQueueQuery(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.report_queue(status=query.validated_data.get("status") or None)


class ResolveView(APIView):
    permission_classes = [IsModerator]

    @extend_schema(
        tags=TAG, request=serializers.ResolveIn, responses={200: serializers.StaffReportOut}
    )
    def post(self, request: Request, report_id: str) -> Response:
        data = serializers.ResolveIn(data=request.data)
        data.is_valid(raise_exception=True)
        resolved = services.report_resolve(
            moderator=request.user,
            report=selectors.report_by_id(value=report_id),
            action=data.validated_data["action"],
            notes=data.validated_data["notes"],
            ip=client_ip(request),
        )
        return Response(serializers.StaffReportOut(resolved).data)
