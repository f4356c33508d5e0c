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
        from chat import receivers

        receivers.connect()
