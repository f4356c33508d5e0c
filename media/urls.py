from django.urls import path

from media import views

app_name = "media"

urlpatterns = [
    path("upload", views.UploadView.as_view(), name="upload"),
    path("profile-image", views.ProfileImageView.as_view(), name="profile-image"),
    path("images", views.ImagesView.as_view(), name="images"),
    path("images/<str:image_id>", views.ImageDeleteView.as_view(), name="image-delete"),
]
