"""The API's documentation: the OpenAPI schema (`/api/schema/`), Swagger UI (`/docs`) and
ReDoc (`/redoc`), from drf-spectacular with its sidecar's assets (no CDN).

Public unless AURUM_PUBLIC_DOCS is off, which it is by default in production: then only staff
read them, with the same rule as the admin and the staff API (an active moderator or admin
whose session used the MFA it needs; a signed-in admin session or a staff access token). A
browser that is not signed in is sent to the admin's login page and comes back.

The pages run under a Content-Security-Policy of their own (aurum.middleware has the rest):
scripts from this origin only (Swagger UI's start script is a request of its own, the split
view, rather than inline), but inline styles, which both UIs inject as they render, and
ReDoc's search worker, which it starts from a blob: URL. Images stay this origin's: ReDoc's
footer asks for Redocly's logo from their CDN, is refused, and shows the words alone.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from aurum.middleware import policy
from aurum.permissions import has_staff_powers

DOCS_POLICY = policy(
    style_src="'self' 'unsafe-inline'",
    worker_src="'self' blob:",
)


class DocsReaders(BasePermission):
    """Anyone while AURUM_PUBLIC_DOCS is on; otherwise staff with their MFA."""

    message = "The API documentation is for staff."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return settings.AURUM_PUBLIC_DOCS or has_staff_powers(request.user)


class _Docs:
    # The bearer token first: an anonymous call is then a 401 that says how to authenticate.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [DocsReaders]

    def handle_exception(self, exc: Exception) -> HttpResponse:
        # In the API's error shape as JSON, whichever schema format was asked for.
        request = self.request  # type: ignore[attr-defined]
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)  # type: ignore[misc]


class _DocsPage(_Docs):
    def handle_exception(self, exc: Exception) -> HttpResponse:
        request = self.request  # type: ignore[attr-defined]
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = DOCS_POLICY
        return response


class SchemaView(_Docs, SpectacularAPIView):
    pass


class SwaggerView(_DocsPage, SpectacularSwaggerSplitView):
    pass


class RedocView(_DocsPage, SpectacularRedocView):
    # Ours (templates/drf_spectacular/): no web fonts from Google, no inline script.
    template_name = "drf_spectacular/redoc.html"
