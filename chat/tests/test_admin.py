from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

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


def test_a_long_conversation_shows_its_latest_messages_and_links_to_all(client, monkeypatch):
    from chat import admin as chat_admin

    monkeypatch.setattr(chat_admin, "LATEST_MESSAGES", 3)
    _bride, groom, conversation = connected_pair()
    for n in range(5):
        services.message_send(
            sender=groom.user, body=f"line {n}", client_id=f"c-{n}", conversation_id=conversation.pk
        )
    client.force_login(make_moderator())

    page = client.get(reverse("admin:chat_conversation_change", args=[conversation.pk]))

    text = page.content.decode()
    assert [f"line {n}" in text for n in range(5)] == [False, False, True, True, True]
    listing = (
        f"{reverse('admin:chat_message_changelist')}?conversation__id__exact={conversation.pk}"
    )
    assert f'href="{listing}"' in text and "5 messages, paged" in text
    _, other_groom, other = connected_pair()
    services.message_send(
        sender=other_groom.user, body="elsewhere", client_id="o-1", conversation_id=other.pk
    )
    everything = client.get(listing)
    assert everything.status_code == 200  # an allowed lookup, not a redirect to ?e=1
    assert "5 messages" in everything.content.decode()  # this conversation's, not the other's


def test_conversations_name_their_members_in_one_query_however_many(client):
    client.force_login(make_moderator())
    url = reverse("admin:chat_conversation_changelist")
    bride, groom, conversation = connected_pair()
    client.get(url)

    def listing() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    one, one_queries = listing()
    for _ in range(3):
        connected_pair()
    _many, many_queries = listing()

    for member in (bride, groom):
        assert escape(f"{member.user.first_name} ({member.user.profile_code})") in one
    assert many_queries == one_queries
    page = client.get(reverse("admin:chat_conversation_change", args=[conversation.pk]))
    names = [escape(f"{m.user.first_name} ({m.user.profile_code})") for m in (bride, groom)]
    heading = page.content.decode().split("<h2>", 1)[1].split("</h2>", 1)[0]
    assert all(name in heading for name in names)  # the page's heading, not two ids
