from __future__ import annotations

from django.apps import AppConfig


class MediaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media"
    moderator_permissions = ("media.view_photo", "media.change_photo")

    def ready(self) -> None:
        from accounts.privacy import register_member_data
        from media import privacy

        register_member_data("photos", export=privacy.export, erase=privacy.erase)
        from media import receivers

        receivers.connect()
