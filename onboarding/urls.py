from django.urls import path

from onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("signup", views.SignupView.as_view(), name="signup"),
    path("complete-profile/<str:user_id>", views.CompleteProfileView.as_view(), name="complete"),
    path(
        "verification-status/<str:user_id>",
        views.VerificationStatusView.as_view(),
        name="verification-status",
    ),
    path(
        "admin/pending-verifications",
        views.PendingVerificationsView.as_view(),
        name="pending-verifications",
    ),
    path("admin/verify-user/<str:user_id>", views.VerifyUserView.as_view(), name="verify-user"),
]
