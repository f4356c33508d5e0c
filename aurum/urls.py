from django.contrib import admin
from django.urls import include, path, re_path

from aurum import api_errors, dashboard, docs, health
from media import views as media_views

api_v1 = [
    path("auth/", include("accounts.urls")),
    path("onboarding/", include("onboarding.urls")),
    path("moderation/", include("moderation.urls")),
    path("notifications/", include("notifications.urls")),
    path("media/", include("media.urls")),
    path("matching/", include("matching.urls")),
    path("chat/", include("chat.urls")),
    path("", include("profiles.urls")),
    path("dashboard", dashboard.DashboardView.as_view(), name="dashboard"),
]

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs", docs.SwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc", docs.RedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("files/<path:key>", media_views.signed_file, name="media-signed"),
    re_path(r"^api/", api_errors.api_not_found),
]

handler404 = "aurum.api_errors.handler404"
handler500 = "aurum.api_errors.handler500"
