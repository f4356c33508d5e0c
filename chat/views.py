from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aurum.pagination import CreatedCursorPagination, keyset_schema
from chat import selectors, serializers, services, shapes
from chat.models import Call

TAG = ["chat"]
CURSOR = OpenApiParameter("cursor", str, description="From `next`/`previous` of a page.")


def _valid(serializer_class: type[Any], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ConversationsView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[CURSOR],
        responses={200: keyset_schema("ConversationPage", serializers.ConversationOut)},
        description="My conversations, latest activity first, each with its last message "
        "and the number of the other member's messages I have not read.",
    )
    def get(self, request: Request) -> Response:
        cursor = request.query_params.get("cursor") or None
        rows, page = selectors.conversations_page(user=request.user, cursor=cursor, size=30)
        data = serializers.ConversationOut(rows, many=True).data
        return Response({"results": data, **page.links(request)})


class MessagesView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[serializers.MessagesQuery],
        responses={200: serializers.MessagesPageOut},
        description="Oldest first. `after=<id>` catches up from the last message a device "
        "has; `before=<id>` pages back through history; neither gives the latest.",
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        query = _valid(serializers.MessagesQuery, request.query_params.dict())
        conversation = services.conversation_of(user=request.user, conversation_id=conversation_id)
        messages, more = selectors.messages_page(
            conversation_id=conversation.pk,
            after=query.get("after"),
            before=query.get("before"),
            limit=query["limit"],
        )
        results = [shapes.message_data(m) for m in messages]
        return Response(
            {"results": results, "has_more": more, **_message_links(request, query, messages, more)}
        )


def _message_links(
    request: Request, query: dict[str, Any], messages: list[Any], more: bool
) -> dict[str, str | None]:
    """The API's `next`/`previous` for a page of messages: `after=` the last one when newer
    messages follow, `before=` the first one when older ones lie behind."""
    forward = query.get("after") is not None
    newer = more if forward else query.get("before") is not None
    older = bool(messages) if forward else more

    def link(name: str, message_id: int) -> str:
        params = urlencode({name: message_id, "limit": query["limit"]})
        return f"{request.build_absolute_uri(request.path)}?{params}"

    return {
        "next": link("after", messages[-1].id) if messages and newer else None,
        "previous": link("before", messages[0].id) if messages and older else None,
    }


class SendView(APIView):
    @extend_schema(
        tags=TAG,
        request=serializers.SendIn,
        responses={201: serializers.MessageOut, 200: serializers.MessageOut},
        description="201 with the new message; 200 with the first one when this `client_id` "
        "was sent before.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(serializers.SendIn, request.data)
        message, created = services.message_send(
            sender=request.user,
            body=data["body"],
            client_id=data["client_id"],
            conversation_id=data.get("conversation_id"),
            recipient_id=data.get("recipient_id"),
        )
        return Response(
            shapes.message_data(message),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ReadView(APIView):
    @extend_schema(tags=TAG, request=serializers.ReadIn, responses={200: serializers.ReadOut})
    def post(self, request: Request, conversation_id: str) -> Response:
        data = _valid(serializers.ReadIn, request.data)
        mark = services.messages_read(
            user=request.user, conversation_id=conversation_id, up_to_id=data["up_to_id"]
        )
        # The id in its usual form, however the path wrote it (the service found it already).
        return Response({"conversation_id": str(uuid.UUID(conversation_id)), "last_read_id": mark})


class MessageView(APIView):
    @extend_schema(
        tags=TAG,
        request=serializers.EditIn,
        responses={200: serializers.MessageOut},
        description="Edit my message within 15 minutes of sending it.",
    )
    def patch(self, request: Request, conversation_id: str, message_id: int) -> Response:
        data = _valid(serializers.EditIn, request.data)
        message = services.message_edit(
            user=request.user,
            conversation_id=conversation_id,
            message_id=message_id,
            body=data["body"],
        )
        return Response(shapes.message_data(message))

    @extend_schema(
        tags=TAG,
        responses={200: serializers.MessageOut},
        description="Delete my message within 15 minutes of sending it (for both of us).",
    )
    def delete(self, request: Request, conversation_id: str, message_id: int) -> Response:
        message = services.message_delete(
            user=request.user, conversation_id=conversation_id, message_id=message_id
        )
        return Response(shapes.message_data(message))


class SettingsView(APIView):
    @extend_schema(tags=TAG, responses={200: serializers.SettingsOut})
    def get(self, request: Request) -> Response:
        return Response(serializers.SettingsOut(services.settings_of(request.user)).data)

    @extend_schema(
        tags=TAG,
        request=serializers.SettingsIn,
        responses={200: serializers.SettingsOut},
        description="Read receipts and last seen (with online status), both shared only "
        "with members who have an accepted interest with me.",
    )
    def patch(self, request: Request) -> Response:
        data = _valid(serializers.SettingsIn, request.data)
        found = services.settings_update(user=request.user, changes=data)
        return Response(serializers.SettingsOut(found).data)


class CallsView(generics.ListAPIView):
    serializer_class = serializers.CallOut
    pagination_class = CreatedCursorPagination

    @extend_schema(tags=TAG, description="My calls, made and received, newest first.")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # noqa: ANN201 - a QuerySet of calls
        if getattr(self, "swagger_fake_view", False):
            return Call.objects.none()
        return selectors.calls_of(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([services.call_data(call) for call in page or []])


class TurnView(APIView):
    @extend_schema(
        tags=TAG,
        responses={200: serializers.TurnOut},
        description="Time-limited TURN credentials (coturn's REST API); 503 where no relay "
        "is configured.",
    )
    def get(self, request: Request) -> Response:
        return Response(services.turn_credentials(user=request.user))
