from django.urls import path

from profiles import views

app_name = "profiles"

urlpatterns = [
    path("profiles/me", views.MyProfileView.as_view(), name="me"),
    path("profiles/choices", views.ChoicesView.as_view(), name="choices"),
    path("profiles/<str:public_id>", views.ProfileDetailView.as_view(), name="detail"),
]
