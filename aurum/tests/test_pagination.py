"""Every cursor-paginated list, found in the URL configuration and the schema, refuses a cursor
it did not make with 400 `invalid_cursor`, never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.pagination import CursorPagination

from accounts.tests.factories import make_moderator
from profiles.tests.factories import make_member

pytestmark = pytest.mark.django_db


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CRAFTED = [
    _b64("p=notadate"),
    _b64("p=0a3c9f4e-zzzz-4bd5-9e1c-000000000000"),
    _b64("r=1&p=notadate"),
    _b64("o=1&r=0&p=2026-13-45 99:00:00"),
    _b64("p=2026-01-01 10:00:00"),  # no time zone: not one this server wrote
    _b64("p=0001-01-01 00:00:00+05:30"),  # before the first UTC moment Python has
    _b64("p=" + "9" * 40),
    _b64("o=-1"),
    "not-a-cursor",
    "%%%",
]


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def cursor_lists() -> list[str]:
    """Every GET operation of the schema that takes a `cursor` (DRF cursors and keysets)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        path
        for path, methods in schema["paths"].items()
        if any(p["name"] == "cursor" for p in methods.get("get", {}).get("parameters", []))
    )


def test_the_schema_names_every_view_paginated_by_a_cursor():
    paginated = {
        f"/{route}"
        for route, callback in _routes(get_resolver().url_patterns)
        if issubclass(
            getattr(getattr(callback, "cls", None), "pagination_class", None) or object,
            CursorPagination,
        )
    }

    assert len(paginated) >= 7
    assert paginated <= set(cursor_lists())


@pytest.mark.parametrize("path", cursor_lists())
def test_a_crafted_cursor_is_400_invalid_cursor_on_every_list(client_for, path):
    viewer = make_moderator() if "/admin/" in path else make_member().user
    client = client_for(viewer)

    for cursor in CRAFTED:
        response = client.get(path, {"cursor": cursor})

        assert response.status_code == 400, (path, cursor, response.content)
        body = response.json()
        assert body["code"] == "invalid_cursor" and body["detail"], (path, cursor)


def test_the_cursors_a_list_hands_out_still_page_both_ways(client_for):
    from notifications.services import notify

    member = make_member().user
    for number in range(25):
        notify(recipient=member, kind="warning", title=f"Notice {number}")
    client = client_for(member)

    first = client.get("/api/v1/notifications/").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()

    assert [len(first["results"]), len(second["results"])] == [20, 5]
    assert second["next"] is None
    assert [n["id"] for n in back["results"]] == [n["id"] for n in first["results"]]
