"""Statements compiled once per shape and run with fresh values: for hot read paths whose
queryset costs more to build and compile in Python than to run in the database.

A caller names the *shape* of its statement (everything that changes the SQL text: which
filters are present, the ordering, the page size) and gives the *values* (viewer id, bounds,
list items, cursor). The first time a shape is seen, `build` makes the queryset from stand-in
values of the same types, Django compiles it, and each parameter is traced back to the value
it came from; later calls bind the real values into that SQL and run it, with the converters
Django would apply. The rule the queryset encodes (the visibility rule, the filters) stays
written once, in the ORM.

Tracing is checked: the shape is compiled from two different sets of stand-ins, and unless
the two statements have the same text and differ exactly where the values go, the shape is
never cached and every call runs the queryset as usual. A builder that branches on a value,
or drops one, only stays slow. A builder that reads the database (the viewer's gender, read
with the stand-in id) would get the same answer, nothing, from both stand-ins and bake it in
as a constant, so building a shape must run no query: one that does is never cached, with a
log line.

`STATEMENTS_CHECK` (a share of calls, 0 to 1; on in the test suite and in CI's fuzz run) runs
the plain queryset beside a compiled statement and raises `StatementMismatch` when their rows
differ.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

log = logging.getLogger(__name__)

Build = Callable[[Mapping[str, Any]], QuerySet[Any]]
Prep = Callable[[Any, Any], Any]  # (value, connection) -> parameter


def _same(value: Any, _connection: Any) -> Any:
    return value


# A value's kind -> how Django may have written it as a parameter, tried in order.
PREPS: dict[type, tuple[Prep, ...]] = {
    uuid.UUID: (_same, lambda v, _c: v.hex, lambda v, _c: str(v)),
    datetime: (_same, lambda v, c: c.ops.adapt_datetimefield_value(v)),
    date: (_same, lambda v, c: c.ops.adapt_datefield_value(v)),
    int: (_same,),
    # As itself, or as a one-item JSON array (matching.scoring.HasItem's `@>` on PostgreSQL).
    str: (_same, lambda v, _c: json.dumps([v])),
}


def _kind(value: Any) -> type:
    for kind in (bool, datetime, date, uuid.UUID, int, str):  # bool and datetime first
        if isinstance(value, kind):
            if kind is bool:
                break
            return kind
    raise TypeError(f"a statement value must be a UUID, date, datetime, int or str: {value!r}")


def _stand_in(kind: type, serial: int, flavour: int) -> Any:
    """A value of `kind` no real input has, different for each (serial, flavour). Integers stay
    small, because Django turns an out-of-range integer lookup into no condition at all."""
    if kind is uuid.UUID:
        return uuid.UUID(int=(0xA0A0 + flavour) << 112 | serial)
    if kind is datetime:
        return datetime(1001 + flavour, 1, 1, tzinfo=UTC) + timedelta(minutes=serial)
    if kind is date:
        return date(1001 + flavour, 1, 1) + timedelta(days=serial)
    if kind is int:
        return 20011 + 1000 * flavour + serial
    return f"\x1fstand-in {flavour}.{serial}\x1f"


def _signature(values: Mapping[str, Any]) -> tuple[Any, ...]:
    parts = []
    for name, value in sorted(values.items()):
        if isinstance(value, list | tuple):
            parts.append((name, tuple(_kind(item).__name__ for item in value)))
        else:
            parts.append((name, _kind(value).__name__))
    return tuple(parts)


def _stand_ins(values: Mapping[str, Any], flavour: int) -> tuple[dict[str, Any], dict[Any, tuple]]:
    """Stand-ins for `values` and, for each stand-in, where it goes: (name, index or None)."""
    serial = 0
    stand_ins: dict[str, Any] = {}
    origin: dict[Any, tuple[str, int | None]] = {}
    for name, value in values.items():
        items = list(value) if isinstance(value, list | tuple) else [value]
        made = []
        for index, item in enumerate(items):
            serial += 1
            made.append(_stand_in(_kind(item), serial, flavour))
            origin[made[-1]] = (name, index if isinstance(value, list | tuple) else None)
        stand_ins[name] = tuple(made) if isinstance(value, list | tuple) else made[0]
    return stand_ins, origin


@dataclass(frozen=True)
class _Slot:
    name: str
    index: int | None
    prep: Prep


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: tuple[Any, ...]  # the constants; a slot's position holds its _Slot
    names: tuple[str, ...]
    converters: dict[int, tuple[list[Any], Any]]

    def bind(self, values: Mapping[str, Any], connection: Any) -> list[Any]:
        bound = []
        for param in self.params:
            if isinstance(param, _Slot):
                value = values[param.name]
                bound.append(
                    param.prep(value if param.index is None else value[param.index], connection)
                )
            else:
                bound.append(param)
        return bound


def _compile(build: Build, stand_ins: Mapping[str, Any]) -> tuple[str, tuple[Any, ...], Any, Any]:
    queryset = build(stand_ins)
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    return sql, tuple(params), queryset, compiler


@dataclass(frozen=True)
class _Wrap:
    """A parameter Django wrapped in a subclass of its kind (psycopg's Int2 for a small
    integer column on PostgreSQL): bound values are wrapped the same way."""

    kind: type

    def __call__(self, value: Any, _connection: Any) -> Any:
        return self.kind(value)


def _trace(
    params: Sequence[Any], origin: Mapping[Any, tuple[str, int | None]], connection: Any
) -> list[Any]:
    traced: list[Any] = []
    for param in params:
        slot = None
        for stand_in, (name, index) in origin.items():
            for prep in PREPS[_kind(stand_in)]:
                written = prep(stand_in, connection)
                if isinstance(param, type(written)) and param == written:
                    same = type(param) is type(written)
                    slot = _Slot(name, index, prep if same else _Wrap(type(param)))
                    break
            if slot:
                break
        traced.append(slot if slot else param)
    return traced


class StatementMismatch(AssertionError):
    """A compiled statement's rows differ from its queryset's (found by STATEMENTS_CHECK)."""


@contextmanager
def _queries_run() -> Iterator[list[str]]:
    """The SQL of every query run meanwhile, on any database connection of this thread."""
    run: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        run.append(sql)
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(record))
        yield run


_UNWRAPPED = object()


def _constant(param: Any) -> Any:
    """A parameter as compared between the two compilations: psycopg's Json and Jsonb
    wrappers (a JSON column's `[]`) compare by identity, so by what they wrap."""
    inner = getattr(param, "obj", _UNWRAPPED)
    return param if inner is _UNWRAPPED else (type(param), repr(inner))


def compile_shape(build: Build, values: Mapping[str, Any]) -> Compiled | None:
    """`build`'s statement for values like `values`, or None when it cannot be traced."""
    return _compile_shape(build, values)[0]


def _compile_shape(build: Build, values: Mapping[str, Any]) -> tuple[Compiled | None, str]:
    """The compiled shape, or None and why not."""
    first, first_origin = _stand_ins(values, 0)
    second, second_origin = _stand_ins(values, 1)
    try:
        with _queries_run() as run:
            sql, params, queryset, compiler = _compile(build, first)
            other_sql, other_params, _queryset, _compiler = _compile(build, second)
    except EmptyResultSet:
        return None, "it matches nothing"
    if run:
        return None, f"building it ran {len(run)} queries, whose answers it would bake in"
    connection = connections[queryset.db]
    traced = _trace(params, first_origin, connection)
    other_traced = _trace(other_params, second_origin, connection)
    if sql != other_sql or len(traced) != len(other_traced):
        return None, "its text depends on the values"
    for one, other in zip(traced, other_traced, strict=True):
        if isinstance(one, _Slot) != isinstance(other, _Slot) or _constant(one) != _constant(other):
            return None, "a parameter that is not a value moved"
    used = {(slot.name, slot.index) for slot in traced if isinstance(slot, _Slot)}
    if used != set(first_origin.values()):
        return None, "a value was dropped or folded into its text"
    query = queryset.query
    names = (
        list(query.selected)
        if getattr(query, "selected", None)
        else [*query.extra_select, *query.values_select, *query.annotation_select]
    )
    fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
    return Compiled(sql, tuple(traced), tuple(names), compiler.get_converters(fields)), ""


def padded(items: Iterable[Any]) -> tuple[Any, ...]:
    """`items` as a tuple whose length is the next power of two, its last item repeated: the
    values of an `__in` filter, so that one compiled shape serves every list length up to it
    (a batch of 3 members and one of 4 run the same statement; a repeat changes nothing in
    IN). Empty stays empty: a caller asks nothing for no values."""
    values = tuple(items)
    if not values:
        return values
    size = 1 << (len(values) - 1).bit_length()
    return values + (values[-1],) * (size - len(values))


class Statements:
    """A bounded cache of compiled shapes, shared by the threads of a process."""

    def __init__(self, name: str, size: int = 256) -> None:
        self.name = name
        self.size = size
        self._shapes: OrderedDict[Hashable, Compiled | None] = OrderedDict()
        self._lock = threading.Lock()

    def rows(
        self, shape: Hashable, values: Mapping[str, Any], build: Build, *, using: str = "default"
    ) -> list[dict[str, Any]]:
        """The rows of `build(values)` (a `.values()` queryset), as dicts.

        `shape` must name everything `build` does differently apart from `values`."""
        key = (connections[using].vendor, shape, _signature(values))
        with self._lock:
            known = key in self._shapes
            compiled = self._shapes.get(key)
            if known:
                self._shapes.move_to_end(key)
        if not known:
            compiled, why = _compile_shape(build, values)
            if compiled is None:
                log.warning("statement %s: shape %r cannot be reused: %s", self.name, shape, why)
            with self._lock:
                self._shapes[key] = compiled
                while len(self._shapes) > self.size:
                    self._shapes.popitem(last=False)
        if compiled is None:
            return list(build(values))
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, compiled.bind(values, connection))
            found = cursor.fetchall()
        converters = list(compiled.converters.items())
        names = compiled.names
        rows = []
        for raw in found:
            row = list(raw)
            for position, (functions, expression) in converters:
                for convert in functions:
                    row[position] = convert(row[position], expression, connection)
            rows.append(dict(zip(names, row, strict=True)))
        if settings.STATEMENTS_CHECK and random.random() < settings.STATEMENTS_CHECK:
            self._check(shape, values, build, rows, connection)
        return rows

    def _check(
        self,
        shape: Hashable,
        values: Mapping[str, Any],
        build: Build,
        rows: list[Any],
        connection: Any,
    ) -> None:
        # The check's own query is left out of connection.queries, so that a test counting a
        # path's queries counts the path.
        logged = len(connection.queries_log)
        queryset = build(values)
        expected = list(queryset)
        while len(connection.queries_log) > logged:
            connection.queries_log.pop()
        if not queryset.ordered:  # the database may return an unordered query's rows any way
            rows, expected = sorted(rows, key=repr), sorted(expected, key=repr)
        if rows != expected:
            raise StatementMismatch(
                f"statement {self.name}, shape {shape!r}: compiled rows {rows!r} "
                f"differ from the queryset's {expected!r}"
            )
