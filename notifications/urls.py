from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="list"),
    path("mark-read", views.MarkReadView.as_view(), name="mark-read"),
    path("devices", views.DeviceView.as_view(), name="devices"),
    path("devices/<path:token>", views.DeviceDeleteView.as_view(), name="device-delete"),
    path("preferences", views.PreferencesView.as_view(), name="preferences"),
]
