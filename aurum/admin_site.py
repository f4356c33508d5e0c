"""The project's admin site: the moderators' console.

Staff sign in with the same rate limits and audit as the API's login, and with a code from
their TOTP device whenever they have a confirmed one (always, with AURUM_ADMIN_REQUIRE_MFA).
A password changed here goes through the accounts service, so it is audited and revokes the
other sessions like one changed in the app.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django_otp.admin import _admin_template_for_django_version

from aurum.permissions import staff_mfa_missing


class AurumAdminSite(admin.AdminSite):
    site_header = "Aurum moderation"
    site_title = "Aurum admin"
    index_title = "Verification, reports and members"

    login_template = _admin_template_for_django_version()

    @property
    def login_form(self) -> Any:  # type: ignore[override]
        from accounts.forms import AdminLoginForm

        return AdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        # The same staff-MFA rule as the API's staff permissions (aurum.permissions).
        return super().has_permission(request) and not staff_mfa_missing(request.user)

    def index(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        from moderation.console import bar_chart, console_numbers

        numbers = console_numbers(days=30)
        chart = bar_chart(
            numbers["days"],
            {"signups": numbers["signups"], "approvals": numbers["approvals"]},
            {"signups": "#417690", "approvals": "#c28a00"},
        )
        context = {**(extra_context or {}), "console": numbers, "console_chart": chart}
        return super().index(request, extra_context=context)

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        from accounts.admin import AuditedPasswordChangeView

        request.current_app = self.name
        return AuditedPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
