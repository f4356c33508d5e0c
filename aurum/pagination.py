"""Pagination: DRF cursors for lists ordered by creation, keysets for anything else."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import inline_serializer
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.serializers import CharField, Serializer

from aurum.errors import ApiError


class CreatedCursorPagination(CursorPagination):
    """Keyset pagination, newest first: page 50 costs what page 1 costs."""

    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class OldestFirstCursorPagination(CreatedCursorPagination):
    ordering = ("created_at", "pk")


# Keyset pages over any ordering (also over annotations such as a match score).


def _bad_cursor() -> ApiError:
    return ApiError("That cursor is not valid; start again from the first page.", "invalid_cursor")


_CODERS: dict[str, tuple[type, Any, Any]] = {
    "t": (datetime, datetime.isoformat, parse_datetime),
    "d": (date, date.isoformat, parse_date),
    "u": (UUID, str, UUID),
    "i": (int, int, int),
}


def _encode_value(value: Any) -> list[Any]:
    if isinstance(value, Decimal):
        value = int(value)
    for tag, (kind, dump, _load) in _CODERS.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return [tag, dump(value)]
    raise TypeError(f"no cursor encoding for {type(value).__name__}")


def _decode_value(item: Any) -> Any:
    if not (isinstance(item, list) and len(item) == 2 and item[0] in _CODERS):
        raise _bad_cursor()
    kind, _dump, load = _CODERS[item[0]]
    if kind is int and not isinstance(item[1], int):
        raise _bad_cursor()
    if kind is not int and not isinstance(item[1], str):
        raise _bad_cursor()
    try:
        value = load(item[1])
    except (ValueError, TypeError) as exc:
        raise _bad_cursor() from exc
    if value is None:
        raise _bad_cursor()
    return value


@dataclass(frozen=True)
class Keyset:
    """An ordering whose last field is unique (a primary key), paged by position, not offset.

    `fields` are names as in `order_by` ("-last_active_at", "-pk"); none may be NULL in the
    rows paged. Each page filters from the last row seen, so page 50 costs what page 1 costs.
    `tag` names the ordering inside cursors, so a cursor made for one ordering is refused by
    another.
    """

    fields: tuple[str, ...]
    tag: str

    def _after(self, values: Sequence[Any], *, reverse: bool) -> Q:
        # (a, b, c) after (x, y, z) in this ordering: a <= x and (a < x or (a = x and ...)).
        # The leading bound alone lets an index on the ordering start at the cursor.
        condition: Q | None = None
        for name, value in reversed(list(zip(self.fields, values, strict=True))):
            column, descending = name.lstrip("-"), name.startswith("-") != reverse
            strict = Q(**{f"{column}__{'lt' if descending else 'gt'}": value})
            condition = strict if condition is None else strict | (Q(**{column: value}) & condition)
        first, descending = self.fields[0].lstrip("-"), self.fields[0].startswith("-") != reverse
        bound = Q(**{f"{first}__{'lte' if descending else 'gte'}": values[0]})
        assert condition is not None
        return bound & condition

    def cursor_for(self, row: Any, *, reverse: bool) -> str:
        read = row.__getitem__ if isinstance(row, dict) else row.__getattribute__
        values = [_encode_value(read(name.lstrip("-"))) for name in self.fields]
        raw = json.dumps({"o": self.tag, "r": reverse, "v": values}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[list[Any], bool]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise _bad_cursor() from exc
        if not (
            isinstance(data, dict)
            and data.get("o") == self.tag
            and isinstance(data.get("r"), bool)
            and isinstance(data.get("v"), list)
            and len(data["v"]) == len(self.fields)
        ):
            raise _bad_cursor()
        return [_decode_value(item) for item in data["v"]], data["r"]

    def page(
        self,
        rows: QuerySet[Any],
        *,
        cursor: str | None,
        size: int,
        fetch: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
    ) -> KeysetPage:
        """One page of `rows`. With `fetch`, in one statement of two steps: the page's keys
        are found on `rows` alone (narrow, often from an index), then `fetch` widens just
        those rows (joins, annotations) for the response."""
        reverse = False
        if cursor:
            values, reverse = self.decode(cursor)
            rows = rows.filter(self._after(values, reverse=reverse))
        order = [name if not reverse else _flip(name) for name in self.fields]
        if fetch is not None:
            keys = rows.order_by(*order).values("pk")[: size + 1]
            rows = fetch(rows.model.objects.filter(pk__in=keys))
        found = list(rows.order_by(*order)[: size + 1])
        more, found = len(found) > size, found[:size]
        if reverse:
            found.reverse()
        has_next = more if not reverse else True
        has_previous = (more if reverse else bool(cursor)) and bool(found)
        return KeysetPage(
            rows=found,
            next=self.cursor_for(found[-1], reverse=False) if found and has_next else None,
            previous=self.cursor_for(found[0], reverse=True) if has_previous else None,
        )


def _flip(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


@dataclass
class KeysetPage:
    rows: list[Any]
    next: str | None
    previous: str | None

    def links(self, request: Request) -> dict[str, str | None]:
        def url(cursor: str | None) -> str | None:
            if cursor is None:
                return None
            params = [(k, v) for k, v in request.query_params.lists() if k != "cursor"]
            query = urlencode([(k, item) for k, values in params for item in values])
            query = f"{query}&cursor={cursor}" if query else f"cursor={cursor}"
            return request.build_absolute_uri(request.path) + "?" + query

        return {"next": url(self.next), "previous": url(self.previous)}


def keyset_schema(name: str, item: type[Serializer]) -> Serializer:
    """The OpenAPI shape of a keyset page of `item`."""
    return inline_serializer(
        name,
        {
            "results": item(many=True),
            "next": CharField(allow_null=True, help_text="Link to the next page, or null."),
            "previous": CharField(allow_null=True, help_text="Link to the previous page, or null."),
        },
    )
