from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class AdminTimeZoneMiddleware:
    """The admin shows times in ADMIN_TIME_ZONE; everything else stays in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.zone = ZoneInfo(settings.ADMIN_TIME_ZONE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# What every page here may load: its own origin's scripts, styles, fonts and images (and data:
# images, which the admin's and Swagger UI's stylesheets use), no plugins, no framing, forms
# posted back here only. The admin works under it as it is (the browser tests read Chromium's
# console for violations); the API docs relax it a little (aurum.docs).
CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(**overrides: str) -> str:
    """The Content-Security-Policy header, with `style_src=...` and the like replacing or
    adding directives."""
    directives = {**CSP_DIRECTIVES, **{k.replace("_", "-"): v for k, v in overrides.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


CONTENT_SECURITY_POLICY = policy()


class ContentSecurityPolicyMiddleware:
    """Every response carries the Content-Security-Policy, unless its view set its own.

    With DEBUG on, error pages go without: Django's debug pages run inline scripts and styles.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
