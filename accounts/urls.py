from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="register"),
    path("login", views.LoginView.as_view(), name="login"),
    path("refresh", views.RefreshView.as_view(), name="refresh"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/export", views.MeExportView.as_view(), name="me-export"),
    path("otp/send", views.OtpSendView.as_view(), name="otp-send"),
    path("otp/verify", views.OtpVerifyView.as_view(), name="otp-verify"),
    path("password/reset/request", views.PasswordResetRequestView.as_view(), name="reset-request"),
    path("password/reset/confirm", views.PasswordResetConfirmView.as_view(), name="reset-confirm"),
    path("password/change", views.PasswordChangeView.as_view(), name="password-change"),
    path("mfa/qrcode", views.MfaQrCodeView.as_view(), name="mfa-qrcode"),
    path("mfa/confirm", views.MfaConfirmView.as_view(), name="mfa-confirm"),
    path("mfa/disable", views.MfaDisableView.as_view(), name="mfa-disable"),
]
