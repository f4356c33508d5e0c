"""The admin's sign-in form: the same limits, MFA rule and audit as the API's login."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp.admin import OTPAdminAuthenticationForm

from accounts import selectors, services
from accounts.models import AuditAction
from aurum import ratelimit
from aurum.errors import RateLimited
from aurum.net import client_ip
from aurum.permissions import staff_mfa_required


class AdminLoginForm(OTPAdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        identifier = self.data.get("username", "") or ""
        user = selectors.user_by_identifier(identifier=identifier)
        key = selectors.account_key(user, identifier)
        try:
            ratelimit.enforce(self.request, "login_ip")
            ratelimit.enforce(self.request, "login_identifier", key)
        except RateLimited as exc:
            raise forms.ValidationError(
                "Too many attempts. Try again later.", code="rate_limited"
            ) from exc
        self.cleaned_data = AdminAuthenticationForm.clean(self)  # password, staff, active
        signed_in = self.get_user()
        if staff_mfa_required(signed_in):
            try:
                self.clean_otp(signed_in)
            except forms.ValidationError:
                services.audit_record(
                    action=AuditAction.LOGIN_FAILURE,
                    actor=signed_in,
                    target=signed_in,
                    ip=client_ip(self.request),
                    metadata={"reason": "mfa_invalid", "via": "admin"},
                )
                raise
        return self.cleaned_data
