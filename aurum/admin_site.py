"""The project's admin site: the moderators' console.

With AURUM_ADMIN_REQUIRE_MFA on, staff sign in with a code from a confirmed TOTP device
(django-otp's login form and check). A password changed here goes through the accounts
service, so it is audited and revokes the other sessions like one changed in the app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django_otp.admin import OTPAdminAuthenticationForm, _admin_template_for_django_version


class AurumAdminSite(admin.AdminSite):
    site_header = "Aurum moderation"
    site_title = "Aurum admin"
    index_title = "Verification, reports and members"

    @property
    def login_form(self) -> Any:  # type: ignore[override]
        return OTPAdminAuthenticationForm if settings.AURUM_ADMIN_REQUIRE_MFA else None

    @property
    def login_template(self) -> str | None:  # type: ignore[override]
        if settings.AURUM_ADMIN_REQUIRE_MFA:
            return _admin_template_for_django_version()
        return None

    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.AURUM_ADMIN_REQUIRE_MFA:
            return request.user.is_verified()
        return allowed

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        from accounts.admin import AuditedPasswordChangeView

        request.current_app = self.name
        return AuditedPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
