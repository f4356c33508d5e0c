"""The member's dashboard: their own profile and the parts other apps own (recommendations and
interest numbers from matching, recent chats, unread notifications). It composes apps that do
not know each other, so it lives with the wiring, beside the root URLs, and asks each app
directly: no app registers a part."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from chat import selectors as chat_selectors
from chat.serializers import ConversationOut
from matching import lists as matching_lists
from notifications.selectors import unread_count
from profiles import serializers as profile_serializers
from profiles import services as profile_services

RECENT_CHATS_ON_DASHBOARD = 3


def recent_chats(viewer: User) -> list[dict[str, Any]]:
    """The latest conversations, as the conversation list shows them."""
    rows, _ = chat_selectors.conversations_page(
        user=viewer, cursor=None, size=RECENT_CHATS_ON_DASHBOARD
    )
    return [dict(ConversationOut(row).data) for row in rows]


class DashboardView(APIView):
    @extend_schema(
        tags=["profiles"],
        responses={
            200: inline_serializer(
                "Dashboard",
                {
                    "profile": profile_serializers.OwnProfileOut(),
                    "completion": drf_serializers.IntegerField(),
                    "next_step": drf_serializers.CharField(allow_null=True),
                    "recommendations": drf_serializers.ListField(child=drf_serializers.DictField()),
                    "interests": drf_serializers.DictField(child=drf_serializers.IntegerField()),
                    "recent_chats": drf_serializers.ListField(child=drf_serializers.DictField()),
                    "unread_notifications": drf_serializers.IntegerField(),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        viewer = request.user
        profile = profile_services.profile_for_member(user=viewer)
        parts = {
            "recommendations": matching_lists.recommendations(viewer),
            "interests": matching_lists.interest_counts(viewer),
            "recent_chats": recent_chats(viewer),
            "unread_notifications": unread_count(viewer=viewer),
        }
        body = profile_serializers.OwnProfileOut(profile, context={"viewer": viewer}).data
        return Response(
            {
                "profile": body,
                "completion": body["completion"],
                "next_step": body["next_step"],
                **parts,
            }
        )
