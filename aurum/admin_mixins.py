"""Kernel pieces the apps' admin classes share. The admin site itself is wiring
(`aurum.admin_site`), which may import apps; this module imports none."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from aurum.errors import DomainError, Invalid


def refusal_message(exc: DomainError, subject: str | None = None) -> str:
    """A service's refusal as the admin shows it: the member-facing words, by field for bad
    input, after the record it is about (`subject`, e.g. a profile code) when given."""
    text = exc.detail
    if isinstance(exc, Invalid) and exc.fields:
        text = "; ".join(
            f"{name}: {' '.join(map(str, words))}" for name, words in _flat(exc.fields)
        )
    return f"{subject}: {text}" if subject else text


def refusal_form_error(exc: DomainError) -> forms.ValidationError:
    """The same refusal as an admin form's error, shown above the form."""
    return forms.ValidationError(refusal_message(exc), code=exc.code)


def _flat(fields: dict[str, Any], prefix: str = "") -> list[tuple[str, list[Any]]]:
    rows: list[tuple[str, list[Any]]] = []
    for name, value in fields.items():
        if isinstance(value, dict):
            rows += _flat(value, f"{prefix}{name}.")
        else:
            rows.append((f"{prefix}{name}", value if isinstance(value, list) else [value]))
    return rows


class ReadOnlyAdminMixin:
    """For records that change only through services (or never): listed and read, no more."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
