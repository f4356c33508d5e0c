from django.apps import AppConfig


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"
    moderator_permissions = (
        "moderation.view_report",
        "moderation.change_report",
        "moderation.view_block",
    )
