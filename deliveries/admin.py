"""Deliveries as support and operations see them: what went out, what failed and why, and a
retry for what failed (admins) once a provider is back. The message texts are never shown:
an SMS may hold a login code."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from aurum.admin_mixins import ReadOnlyAdminMixin, refusal_message
from aurum.errors import DomainError
from deliveries import backends, services
from deliveries.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "label",
        "channel",
        "member",
        "to",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    )
    list_filter = ("status", "channel", "urgent", "created_at")
    search_fields = ("user__profile_code", "user__email", "user__phone")
    list_select_related = ("user",)
    show_full_result_count = False  # no second COUNT over the whole table per page
    date_hierarchy = "created_at"
    actions = ("retry",)
    fields = (
        "label",
        "template",
        "channel",
        "member",
        "to",
        "status",
        "attempts",
        "last_error",
        "provider_id",
        "urgent",
        "created_at",
        "next_attempt_at",
        "expires_at",
        "sent_at",
    )
    readonly_fields = fields

    @admin.display(description="Member", ordering="user__profile_code")
    def member(self, obj: Delivery) -> str:
        return str(obj.user) if obj.user_id else "—"

    @admin.display(description="To")
    def to(self, obj: Delivery) -> str:
        return backends.masked(obj.address)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("deliveries.change_delivery"):
            actions.pop("retry", None)
        return actions

    @admin.action(description="Retry the selected failed deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        if not request.user.has_perm("deliveries.change_delivery"):
            self.message_user(request, "Only an admin may retry deliveries.", messages.ERROR)
            return
        done = 0
        for delivery in queryset:
            try:
                services.retry(delivery=delivery)
            except DomainError as exc:
                self.message_user(request, refusal_message(exc, str(delivery)), messages.WARNING)
                continue
            self.log_change(request, delivery, "Retried")
            done += 1
        if done:
            self.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)
