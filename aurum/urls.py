from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from aurum import errors, health

if settings.AURUM_ADMIN_REQUIRE_MFA:
    from django_otp.admin import OTPAdminSite

    # Staff must give a code from a confirmed TOTP device on the admin's login form.
    admin.site.__class__ = OTPAdminSite

admin.site.site_header = "Aurum moderation"
admin.site.site_title = "Aurum admin"
admin.site.index_title = "Verification, reports and members"

api_v1 = [
    path("auth/", include("accounts.urls")),
]

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    re_path(r"^api/", errors.api_not_found),
]

handler404 = "aurum.errors.handler404"
handler500 = "aurum.errors.handler500"
