"""Interests, read-only: what a moderator looks at when a report says "harassment"."""

from __future__ import annotations

from django.contrib import admin

from aurum.admin_mixins import ReadOnlyAdminMixin
from matching.models import Interest


@admin.register(Interest)
class InterestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("updated_at", "sender", "receiver", "status", "decided_at")
    list_filter = ("status",)
    search_fields = (
        "sender__profile_code",
        "receiver__profile_code",
        "sender__email",
        "receiver__email",
    )
    list_select_related = ("sender", "receiver")
    readonly_fields = (
        "id",
        "sender",
        "receiver",
        "status",
        "message",
        "created_at",
        "updated_at",
        "decided_at",
    )
    fields = readonly_fields
