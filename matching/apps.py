from django.apps import AppConfig


class MatchingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "matching"
    moderator_permissions = ("matching.view_interest",)

    def ready(self) -> None:
        from matching import receivers

        receivers.connect()
