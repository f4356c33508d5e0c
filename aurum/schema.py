"""The OpenAPI schema's errors: every operation answers its errors in the API's one shape,
so the schema says so once (an `Error` component) and every operation names it as its
`default` response (any status it does not list otherwise)."""

from __future__ import annotations

import copy
import inspect
from typing import Any

from drf_spectacular import openapi

from aurum.serializers import StrictSerializer

ERROR = {
    "type": "object",
    "description": "Every error: the status says what happened, `code` is stable, `detail` "
    "is for people. Invalid input adds `fields`: each field's messages (nested as the "
    "input was).",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "example": "invalid"},
        "fields": {"type": "object", "additionalProperties": {}},
    },
    "required": ["detail", "code"],
}
ERROR_RESPONSE = {
    "description": "An error (400 bad input, 401 no or expired token, 403 not allowed, 404 not "
    "found or not visible to you, 409 conflict, 413 too large, 415 unsupported media, 429 "
    "too many requests with Retry-After, 503 a part is down).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS): the errors, and request
    bodies as strict as the server is about them."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("default", ERROR_RESPONSE)
    _strict_requests(schemas)
    return result


def _strict_requests(schemas: dict[str, Any]) -> None:
    """Every input serializer refuses fields it does not know (aurum.serializers), so no
    request body takes additional properties. A PATCH leaves nested sections partial too
    (DRF passes `partial` down), so the nested parts of a Patched body get patched copies."""
    for name in [n for n in schemas if n.startswith("Patched")]:
        _patch_nested(schemas, schemas[name])
    inherited = inspect.cleandoc(StrictSerializer.__doc__ or "")
    for name, schema in schemas.items():
        if schema.get("description") == inherited:
            del schema["description"]  # the base class's docstring, not the body's
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False


def _patch_nested(schemas: dict[str, Any], schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        for holder in (prop, *prop.get("allOf", ()), *prop.get("anyOf", ())):
            ref = holder.get("$ref", "")
            target = ref.rsplit("/", 1)[-1]
            if not target.endswith("Request") or target.startswith("Patched"):
                continue
            patched = f"Patched{target}"
            if patched not in schemas:
                partial = copy.deepcopy(schemas[target])
                partial.pop("required", None)
                schemas[patched] = partial
                _patch_nested(schemas, partial)
            holder["$ref"] = f"#/components/schemas/{patched}"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with one addition: a view whose DELETE takes a body (its class sets
    `delete_with_body`, as `DELETE auth/me` takes the password) documents it; drf-spectacular
    leaves DELETE bodies out otherwise."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE" or not getattr(self.view, "delete_with_body", False):
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"
