from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from aurum.admin_mixins import ReadOnlyAdminMixin
from profiles.models import Career, Education, Family, PartnerPreferences, Profile


class ReadOnlySection(admin.StackedInline):
    """A profile section shown in full, for reading: members edit their own in the app."""

    extra = 0
    max_num = 1
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "profile"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EducationInline(ReadOnlySection):
    model = Education


class CareerInline(ReadOnlySection):
    model = Career


class FamilyInline(ReadOnlySection):
    model = Family


class PreferencesInline(ReadOnlySection):
    model = PartnerPreferences


SECTION_INLINES = [EducationInline, CareerInline, FamilyInline, PreferencesInline]


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "gender", "religion", "caste", "district", "verification_status")
    list_filter = ("verification_status", "gender", "religion", "district", "is_hidden")
    search_fields = ("user__profile_code", "user__phone", "user__email", "user__first_name")
    list_select_related = ("user",)
    inlines = SECTION_INLINES
    readonly_fields = ("user", "verification_status", "submitted_at", "reviewed_at", "reviewed_by")
    # Profiles change through the services (the app, or complete-profile for staff), where the
    # rules between fields live; here they are for reading.
