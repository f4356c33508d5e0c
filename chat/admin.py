"""Conversations, messages (with what members edited or deleted) and calls, read-only: what a
moderator reads when a report says "harassment"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Concat
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from accounts.privacy import DELETED_NAME
from aurum.admin_mixins import ReadOnlyAdminMixin
from chat.models import Call, Conversation, Message, MessageRevision


class RevisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MessageRevision
    fields = readonly_fields = ("action", "body", "created_at")
    extra = 0


LATEST_MESSAGES = 100  # on a conversation's page; the message list pages through the rest


class LatestMessages(BaseInlineFormSet):
    """A conversation's latest messages only: one of ten thousand messages must not make a
    page of ten thousand rows."""

    def get_queryset(self) -> Any:
        if not hasattr(self, "_latest"):  # asked once per form: evaluated once
            messages = super().get_queryset()
            latest = messages.order_by("-id").values("pk")[:LATEST_MESSAGES]
            self._latest = messages.filter(pk__in=latest)
        return self._latest


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    formset = LatestMessages
    verbose_name_plural = f"messages (the latest {LATEST_MESSAGES})"
    fields = readonly_fields = ("id", "sender", "body", "created_at", "edited_at", "deleted_at")
    ordering = ("-id",)
    show_change_link = True
    extra = 0
    max_num = 0

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).select_related("sender")  # not a query a row


def _member(column: str) -> Subquery:
    """'Anjali (AUR1234)': who a conversation's member id is, read in the page's own query."""
    user = User.objects.filter(pk=OuterRef(column))
    return Subquery(
        user.annotate(label=Concat("first_name", Value(" ("), "profile_code", Value(")"))).values(
            "label"
        )[:1]
    )


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "first_member", "second_member", "created_at")
    search_fields = ("=member_low", "=member_high", "=id")
    fields = readonly_fields = (
        "id",
        "first_member",
        "member_low",
        "second_member",
        "member_high",
        "created_at",
        "all_messages",
    )
    inlines = (MessageInline,)

    def get_queryset(self, request: Any) -> Any:
        return (
            super()
            .get_queryset(request)
            .annotate(low_label=_member("member_low"), high_label=_member("member_high"))
        )

    def render_change_form(
        self, request: Any, context: dict[str, Any], *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:  # the page's heading names the two members, not their ids
            context["subtitle"] = f"{self.first_member(obj)} ↔ {self.second_member(obj)}"
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @admin.display(description="Member")
    def first_member(self, conversation: Conversation) -> str:
        return conversation.low_label or DELETED_NAME  # type: ignore[attr-defined]

    @admin.display(description="Member")
    def second_member(self, conversation: Conversation) -> str:
        return conversation.high_label or DELETED_NAME  # type: ignore[attr-defined]

    @admin.display(description="All messages")
    def all_messages(self, conversation: Conversation) -> str:
        url = reverse("admin:chat_message_changelist")
        return format_html(
            '<a href="{}?conversation__id__exact={}">{} messages, paged</a>',
            url,
            conversation.pk,
            conversation.messages.count(),
        )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "conversation", "sender", "created_at", "edited_at", "deleted_at")
    list_filter = ("created_at",)
    search_fields = ("=conversation__id", "sender__profile_code", "sender__email")
    list_select_related = ("sender", "conversation")
    fields = readonly_fields = (
        "id",
        "conversation",
        "sender",
        "client_id",
        "body",
        "created_at",
        "edited_at",
        "deleted_at",
    )
    inlines = (RevisionInline,)


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "caller", "callee", "media", "status", "end_reason")
    list_filter = ("status", "media")
    search_fields = ("caller__profile_code", "callee__profile_code", "caller__email")
    list_select_related = ("caller", "callee")
    fields = readonly_fields = (
        "id",
        "caller",
        "callee",
        "media",
        "status",
        "end_reason",
        "created_at",
        "answered_at",
        "ended_at",
    )
