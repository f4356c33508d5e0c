"""Pagination: DRF cursors for lists ordered by creation, keysets for anything else."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlencode
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import inline_serializer
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.serializers import CharField, Serializer

from aurum.errors import Invalid

_PAGE_SIZE = re.compile(r"[0-9]{1,3}")  # ASCII digits only: "²".isdigit() is True
# DRF writes a cursor as padded standard base64 of "o=..&r=..&p=..".
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_CURSOR_TOKENS = {"o", "r", "p"}


class CreatedCursorPagination(CursorPagination):
    """Keyset pagination, newest first: page 50 costs what page 1 costs."""

    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        """As DRF's, but a page_size that is not a whole number from 1 to 100 is a 400 (DRF
        quietly falls back to the default)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _PAGE_SIZE.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        self._model = queryset.model  # decode_cursor reads the ordering field's type from it
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Any:
        """A cursor that is not one of ours is 400 `invalid_cursor`, as on the keyset lists
        (DRF answers 404, which says the list does not exist). DRF checks the offset and the
        direction but takes the position as sent, so a position that is not a value of the
        ordering's first field is refused here, before a query is built from it."""
        raw = request.query_params.get(self.cursor_query_param)
        if raw and not _drf_cursor_shaped(raw):
            raise _bad_cursor()  # DRF skips what is not base64 and reads the rest as page one
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise _bad_cursor() from exc
        if cursor is None or cursor.position is None:
            return cursor
        field = _field_at(self._model, self.ordering[0].lstrip("-"))
        try:
            position = _load_position(field, cursor.position)
        except (ValueError, TypeError, OverflowError, ModelValidationError) as exc:
            raise _bad_cursor() from exc
        return cursor._replace(position=position)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class OldestFirstCursorPagination(CreatedCursorPagination):
    ordering = ("created_at", "pk")


# Keyset pages over any ordering (also over annotations such as a match score).


def _bad_cursor() -> Invalid:
    return Invalid("That cursor is not valid; start again from the first page.", "invalid_cursor")


@lru_cache(maxsize=4)
def _box(secret: str) -> Fernet:
    key = salted_hmac("aurum.pagination.keyset", "cursor key", secret=secret, algorithm="sha256")
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def seal(raw: str) -> str:
    """A keyset cursor as clients hold it: encrypted and authenticated (Fernet, with a key
    drawn from SECRET_KEY), because its values are the last row's (a member's last activity
    to the microsecond, on search's default ordering) and a client may hand them back but not
    read them."""
    return _box(settings.SECRET_KEY).encrypt(raw.encode()).decode().rstrip("=")


def _unseal(cursor: str) -> bytes:
    try:
        return _box(settings.SECRET_KEY).decrypt(cursor + "=" * (-len(cursor) % 4))
    except (InvalidToken, ValueError, TypeError) as exc:
        raise _bad_cursor() from exc


def _load_moment(raw: Any) -> datetime:
    value = parse_datetime(raw)
    if value is None or value.tzinfo is None:
        raise ValueError("not an aware date and time")
    return value.astimezone(UTC)  # OverflowError at the ends of the calendar


def _load_int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not -(2**31) < raw < 2**31:
        raise ValueError("not a small integer")
    return raw


def _drf_cursor_shaped(raw: str) -> bool:
    if not _BASE64.fullmatch(raw):
        return False
    try:
        tokens = parse_qs(base64.b64decode(raw).decode("ascii"), keep_blank_values=True)
    except (ValueError, binascii.Error):
        return False
    return bool(tokens) and set(tokens) <= _CURSOR_TOKENS


def _field_at(model: type[models.Model], path: str) -> models.Field:
    """The model field an ordering name ("created_at", "pk", "user__created_at") reads."""
    field: Any = None
    for part in path.split("__"):
        field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        if field.is_relation:
            model = field.related_model
            field = field.target_field
    return field


def _load_position(field: models.Field, raw: str) -> Any:
    """A DRF cursor's position (written as `str(value)`) read back as a value of `field`,
    strictly: it raises when the text is not one this server could have written."""
    if "\x00" in raw:
        raise ValueError("a NUL character")
    if isinstance(field, models.DateTimeField):
        return _load_moment(raw)
    if isinstance(field, models.DateField):
        return date.fromisoformat(raw)
    if isinstance(field, models.UUIDField):
        return UUID(raw)
    if isinstance(field, models.IntegerField):
        value = int(raw)
        if not -(2**63) <= value < 2**63:
            raise OverflowError("not a 64-bit integer")
        return value
    return field.to_python(raw)


# Each ordering field's kind: how its value is written into a cursor and read back, strictly.
KINDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "moment": (datetime.isoformat, _load_moment),
    "date": (date.isoformat, lambda raw: date.fromisoformat(raw)),
    "uuid": (str, UUID),
    "int": (int, _load_int),
}


@dataclass(frozen=True)
class Keyset:
    """An ordering whose last field is unique (a primary key), paged by position, not offset.

    `fields` are names as in `order_by` ("-last_active_at", "-pk"); none may be NULL in the
    rows paged. Each page filters from the last row seen, so page 50 costs what page 1 costs.
    `tag` names the ordering inside cursors, so a cursor made for one ordering is refused by
    another.
    """

    fields: tuple[str, ...]
    kinds: tuple[str, ...]  # one of KINDS per field
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
        values = [
            KINDS[kind][0](read(name.lstrip("-")))
            for name, kind in zip(self.fields, self.kinds, strict=True)
        ]
        raw = json.dumps({"o": self.tag, "r": reverse, "v": values}, separators=(",", ":"))
        return seal(raw)

    def decode(self, cursor: str) -> tuple[list[Any], bool]:
        raw = _unseal(cursor)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad_cursor() from exc
        if not (
            isinstance(data, dict)
            and data.get("o") == self.tag
            and isinstance(data.get("r"), bool)
            and isinstance(data.get("v"), list)
            and len(data["v"]) == len(self.fields)
        ):
            raise _bad_cursor()
        try:
            values = [KINDS[kind][1](raw) for kind, raw in zip(self.kinds, data["v"], strict=True)]
        except (ValueError, TypeError, OverflowError, AttributeError) as exc:
            raise _bad_cursor() from exc
        return values, data["r"]

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
        after, reverse = self.decode(cursor) if cursor else (None, False)
        found = list(self.page_rows(rows, after=after, reverse=reverse, size=size, fetch=fetch))
        return self.page_of(found, size=size, reverse=reverse, cursor=cursor)

    def page_rows(
        self,
        rows: QuerySet[Any],
        *,
        after: Sequence[Any] | None,
        reverse: bool,
        size: int,
        fetch: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
    ) -> QuerySet[Any]:
        """The statement of a page: up to `size + 1` rows from the position `after` (decoded
        from a cursor), so `page_of` can tell whether more follow."""
        if after is not None:
            rows = rows.filter(self._after(after, reverse=reverse))
        order = [name if not reverse else _flip(name) for name in self.fields]
        if fetch is not None:
            keys = rows.order_by(*order).values("pk")[: size + 1]
            rows = fetch(rows.model.objects.filter(pk__in=keys))
        return rows.order_by(*order)[: size + 1]

    def page_of(
        self, found: list[Any], *, size: int, reverse: bool, cursor: str | None
    ) -> KeysetPage:
        """The page made of `page_rows`' rows, with the cursors on either side."""
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
