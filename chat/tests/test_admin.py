from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import make_moderator
from chat import services
from chat.tests.helpers import connected_pair

pytestmark = pytest.mark.django_db


def test_a_moderator_reads_a_conversation_read_only_in_the_same_queries_however_long(client):
    _bride, groom, conversation = connected_pair()
    client.force_login(make_moderator())
    url = reverse("admin:chat_conversation_change", args=[conversation.pk])
    client.get(url)  # the first request fills per-process caches (content types)

    def page_after(count: int) -> tuple[str, int]:
        for n in range(count):
            services.message_send(
                sender=groom.user,
                body=f"line {n}",
                client_id=f"{count}-{n}",
                conversation_id=conversation.pk,
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    short, short_queries = page_after(1)
    long, long_queries = page_after(5)

    assert "line 0" in short and "line 4" in long
    assert long_queries == short_queries  # not a query per message
    assert client.post(url, {}).status_code == 403  # read-only
