"""Serializer wiring shared by every app."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from keyword import iskeyword
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def _json_types(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON types a field takes (None: any). DRF converts what it can (0 to False,
    7 to "7", false to UUID 0); a JSON API takes the type its schema says."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return (int, float)
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.UUIDField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.TimeField,
    ) and not isinstance(field, serializers.MultipleChoiceField):
        return (str,)
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return (list,)
    if isinstance(field, serializers.Serializer | serializers.DictField):
        return (dict,)
    return None


_EXPECTED = {
    (bool,): "true or false",
    (int,): "a whole number",
    (int, float): "a number",
    (str,): "a string",
    (list,): "a list",
    (dict,): "an object",
}


def _type_errors(field: serializers.Field, value: Any) -> list[str]:
    types = _json_types(field)
    if value is None or types is None:
        return []  # null is the field's own business (allow_null)
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        return [f"Must be {_EXPECTED[types]}."]
    if isinstance(field, serializers.ListField) and field.child is not None:
        for item in value:
            if errors := _type_errors(field.child, item):
                return errors
    return []


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo in a field name is an error, not a no-op;
    and, for JSON input, values of another type than the field's (`json_input`; query
    parameters, which are all strings, turn it off)."""

    json_input = True

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, dict):
            unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
            if self.json_input and not isinstance(data, QueryDict):
                for name, field in self.fields.items():
                    if name in data and not field.read_only:
                        if errors := _type_errors(field, data[name]):
                            unknown[name] = errors
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class FieldsOnce:
    """A serializer whose fields are made and bound once per class, not once per instance:
    DRF deep-copies every declared field for each serializer it makes, which was 2.8 ms of
    each search request (eleven lists of choices). Only for serializers whose fields read
    nothing of the serializer they are bound to (no context, no method fields, no defaults
    that ask for it): the shared fields are bound to a serializer of their own, holding no
    request's data; `validate` methods still run on each request's own serializer. Not for
    `partial=True` use: fields read `partial` from their root, the shared serializer."""

    @property
    def fields(self) -> Any:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = serializers.Serializer.fields.real_func(cls())  # type: ignore[attr-defined]
            cls._shared_fields = shared  # type: ignore[attr-defined]
        return shared


class QuerySerializer(FieldsOnce, StrictSerializer):
    """Query parameters (all strings), fields bound once per class (`FieldsOnce`)."""

    json_input = False


class ChoiceList(serializers.ListField):
    """A list of choices whose errors are one flat list of messages, as the API's `fields`
    shape has them (`"religion": ["\"klingon\" is not a valid choice."]`)."""

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        result, errors = [], []
        for item in data:
            try:
                result.append(self.child.run_validation(item))
            except serializers.ValidationError as exc:
                errors.extend(exc.detail if isinstance(exc.detail, list) else [exc.detail])
        if errors:
            raise serializers.ValidationError(errors)
        return result


def choice_list(choices: Any, max_length: int = 60) -> serializers.ListField:
    """An optional list of values from `choices` (TextChoices or a list of codes)."""
    values = choices if isinstance(choices, list) else choices.choices
    return ChoiceList(
        child=serializers.ChoiceField(choices=values), required=False, max_length=max_length
    )


# --- output shapes written once --------------------------------------------------------------


@dataclass(frozen=True)
class Out:
    """One field of an output shape: its `name`, its `schema` (a DRF field, what the OpenAPI
    document shows) and its value, `transform(*sources)` or the one source as it is. A
    source is an attribute of the item (a key, for shapes of rows), or a value given to
    `Shape.build` beside it; none given: the field's own name."""

    name: str
    schema: serializers.Field
    sources: tuple[str, ...] = ()
    transform: Callable[..., Any] | None = None


class Shape:
    """An output written once, as a table of `Out` fields, from which come both the serializer
    the OpenAPI document describes (`serializer`) and `build(item, *given)`, the dict in
    the fields' order, compiled once from the table into one literal: the lists and frames
    built with it cost no more than a hand-written dict (no serializer per item)."""

    def __init__(self, *fields: Out, keys: bool = False, given: tuple[str, ...] = ()) -> None:
        self.fields = fields
        self.given = given
        self.build: Callable[..., dict[str, Any]] = self._compile(keys)

    @property
    def item_sources(self) -> tuple[str, ...]:
        """The attributes (or keys) of the item that `build` reads, in the table's order."""
        sources = (s for f in self.fields for s in f.sources or (f.name,))
        return tuple(dict.fromkeys(s for s in sources if s not in self.given))

    def _compile(self, keys: bool) -> Callable[..., dict[str, Any]]:
        # Generated as namedtuple and dataclasses generate theirs; only identifiers and reprs
        # of the table's names reach the source.
        names = [f.name for f in self.fields]
        named = all(g.isidentifier() and not iskeyword(g) for g in self.given)
        if len(set(names)) != len(names) or not named:
            raise ValueError(f"a shape's field names are unique, its given values named: {names}")
        namespace: dict[str, Any] = {}
        parts = []
        for index, field in enumerate(self.fields):
            args = [self._read(source, keys) for source in field.sources or (field.name,)]
            if field.transform is None:
                if len(args) != 1:
                    raise ValueError(f"{field.name}: several sources need a transform")
                value = args[0]
            else:
                namespace[f"_transform{index}"] = field.transform
                value = f"_transform{index}({', '.join(args)})"
            parts.append(f"{field.name!r}: {value}")
        params = ", ".join(("_item", *self.given))
        source = f"def build({params}):\n    return {{{', '.join(parts)}}}\n"
        exec(compile(source, f"<shape {', '.join(names)}>", "exec"), namespace)  # noqa: S102
        return namespace["build"]

    def _read(self, source: str, keys: bool) -> str:
        if source in self.given:
            return source
        if keys:
            return f"_item[{source!r}]"
        if not source.isidentifier() or iskeyword(source):
            raise ValueError(f"not an attribute: {source!r}")
        return f"_item.{source}"

    def serializer(
        self,
        name: str,
        *,
        module: str,
        doc: str | None = None,
        to_representation: Callable[[Any, Any], dict[str, Any]] | None = None,
    ) -> type[serializers.Serializer]:
        """A serializer with the table's fields, in its order, for the schema (and for nesting in
        other serializers); `to_representation`, when given, is how it turns an item into the
        shape (the app's own way to `build` one)."""
        attrs: dict[str, Any] = {"__module__": module, "__qualname__": name, "__doc__": doc}
        for field in self.fields:  # created in the table's order, which DRF's order follows
            if field.schema.read_only:
                attrs[field.name], attrs[f"get_{field.name}"] = _computed(field)
            else:
                attrs[field.name] = copy.deepcopy(field.schema)
        if to_representation is not None:
            attrs["to_representation"] = to_representation
        return type(name, (serializers.Serializer,), attrs)


def _computed(field: Out) -> tuple[serializers.SerializerMethodField, Callable[..., Any]]:
    """A read-only (computed) field as DRF documents a computed value: a method field whose
    schema is the table's, so the schema reads as it did when cards were written by hand."""
    kwargs = {key: value for key, value in field.schema._kwargs.items() if key != "read_only"}
    documented = type(field.schema)(*field.schema._args, **kwargs)

    @extend_schema_field(documented)
    def method(self: serializers.Serializer, item: Any) -> Any:
        return item[field.name] if isinstance(item, Mapping) else getattr(item, field.name)

    method.__name__ = f"get_{field.name}"
    return serializers.SerializerMethodField(), method
