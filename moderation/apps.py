from django.apps import AppConfig


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"
    moderator_permissions = (
        "moderation.view_report",
        "moderation.change_report",
        "moderation.view_block",
    )

    def ready(self) -> None:
        from accounts.privacy import register_member_data
        from moderation import privacy

        register_member_data("moderation", export=privacy.export, erase=privacy.erase)
        from moderation.selectors import hidden_from, hidden_pairs
        from profiles.selectors import register_visibility_exclusion

        # The one visibility rule lives in profiles; blocks and review holds plug into it.
        register_visibility_exclusion(hidden_from, hidden_pairs)
