"""The photo queue: thumbnails inline, approve or reject through the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.html import format_html

from aurum.admin_mixins import refusal_message
from aurum.errors import DomainError
from aurum.net import client_ip
from media import services
from media.models import Photo, PhotoStatus
from media.signing import photo_url


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "owner_code",
        "status",
        "is_primary",
        "width",
        "height",
        "created_at",
    )
    list_filter = ("status", "is_primary", "created_at")
    search_fields = ("owner__profile_code", "owner__phone")
    list_select_related = ("owner",)
    actions = ("approve", "reject")
    readonly_fields = (
        "preview",
        "owner",
        "status",
        "is_primary",
        "width",
        "height",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    )
    fields = readonly_fields

    def get_ordering(self, request: HttpRequest) -> tuple[Any, ...]:
        pending_first = Case(
            When(status=PhotoStatus.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return (pending_first.asc(), "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Photo")
    def thumbnail(self, obj: Photo) -> str:
        return format_html(
            '<img src="{}" width="80" height="80" alt="">', photo_url(obj, obj.tiny_key)
        )

    @admin.display(description="Preview")
    def preview(self, obj: Photo) -> str:
        return format_html('<img src="{}" width="400" alt="">', photo_url(obj, obj.medium_key))

    @admin.display(description="Member", ordering="owner__profile_code")
    def owner_code(self, obj: Photo) -> str:
        return obj.owner.profile_code

    def _review(self, request: HttpRequest, queryset: QuerySet[Photo], approved: bool) -> None:
        done = 0
        for photo in queryset.select_related("owner"):
            try:  # separation of duties: a refusal is a message (and an audit record)
                services.photo_review(
                    moderator=request.user, photo=photo, approved=approved, ip=client_ip(request)
                )
                done += 1
            except DomainError as exc:
                self.message_user(
                    request, refusal_message(exc, photo.owner.profile_code), messages.ERROR
                )
        word = "Approved" if approved else "Rejected"
        self.message_user(request, f"{word} {done} photo(s).", messages.SUCCESS)

    @admin.action(description="Approve the selected photos", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        self._review(request, queryset, True)

    @admin.action(description="Reject the selected photos", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        self._review(request, queryset, False)
