"""Serializer wiring shared by every app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo in a field name is an error, not a no-op."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, dict):
            unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
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
    """A list of choices whose errors are one flat list of messages, as API.md's `fields`
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
