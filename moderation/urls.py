from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("report", views.ReportView.as_view(), name="report"),
    path("block", views.BlockView.as_view(), name="block"),
    path("block/<str:user_id>", views.UnblockView.as_view(), name="unblock"),
    path("blocks", views.BlockListView.as_view(), name="blocks"),
    path("admin/reports", views.StaffReportListView.as_view(), name="staff-reports"),
    path("admin/reports/<str:report_id>/resolve", views.ResolveView.as_view(), name="resolve"),
]
