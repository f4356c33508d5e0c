"""Serializer wiring shared by every app."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
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
