from __future__ import annotations

from django.apps import AppConfig


class MediaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media"
    moderator_permissions = ("media.view_photo", "media.change_photo")

    def ready(self) -> None:
        from media import receivers

        receivers.connect()
