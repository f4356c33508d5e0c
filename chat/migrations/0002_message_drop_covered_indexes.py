"""Message's foreign keys lose their single-column indexes: message_conversation_idx
(conversation, id) and the unique (sender, client_id) lead with the same columns, and each
index is a write on every message. Only the indexes are dropped (Django's AlterField would
drop and re-check both foreign keys over the whole table on PostgreSQL)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    "chat_message_conversation_id_a1207bf4": "conversation_id",
    "chat_message_sender_id_991c686c": "sender_id",
}


def _drop(apps: object, schema_editor: object) -> None:
    # On PostgreSQL without the table's exclusive lock: a big message table keeps taking
    # messages while its indexes go (CONCURRENTLY runs outside a transaction).
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')


def _create(apps: object, schema_editor: object) -> None:
    for name, column in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "chat_message" ("{column}")')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("chat", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_drop, _create)],
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="conversation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="chat.conversation",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="sender",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chat_messages",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        )
    ]
