from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"
    # Moderators read conversations (with the text members edited or deleted) when they
    # work a harassment report, and calls; they change nothing.
    moderator_permissions = (
        "chat.view_conversation",
        "chat.view_message",
        "chat.view_messagerevision",
        "chat.view_call",
    )

    def ready(self) -> None:
        from accounts.privacy import register_member_data
        from chat import privacy

        register_member_data("chat", export=privacy.export, erase=privacy.erase)
        from chat import receivers
        from chat.selectors import hides_last_seen, recent_chats
        from profiles.selectors import register_dashboard_part, register_last_seen_rule

        receivers.connect()
        register_dashboard_part("recent_chats", recent_chats)
        # "Show last seen" is chat's switch; the rule of what a card shows stays in profiles.
        register_last_seen_rule(hides_last_seen)
