from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        from accounts.privacy import register_member_data
        from notifications import privacy, receivers

        register_member_data("notifications", export=privacy.export, erase=privacy.erase)
        receivers.connect()
