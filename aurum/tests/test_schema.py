"""The OpenAPI schema says what the server does about errors and input (aurum.schema); the
fuzzer in .ci/fuzz.py holds every operation to it."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_answers_errors_in_the_one_shape(schema):
    operations = [op for methods in schema["paths"].values() for op in methods.values()]

    assert len(operations) > 50
    for operation in operations:
        error = operation["responses"]["default"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail", "code"]


def test_request_bodies_take_no_unknown_fields(schema):
    bodies = {n: s for n, s in schema["components"]["schemas"].items() if n.endswith("Request")}

    assert bodies
    assert all(s["additionalProperties"] is False for s in bodies.values() if "properties" in s)


def test_a_patch_leaves_nested_sections_partial(schema):
    components = schema["components"]["schemas"]
    patch = components["PatchedProfileUpdateInRequest"]["properties"]["preferences"]

    assert patch == {"$ref": "#/components/schemas/PatchedPreferencesInRequest"}
    assert "required" not in components["PatchedPreferencesInRequest"]
    assert "age_max" in components["PreferencesInRequest"]["required"]  # POST stays whole


def test_account_deletion_documents_its_body_and_no_format_parameter_exists(schema):
    body = schema["paths"]["/api/v1/auth/me"]["delete"]["requestBody"]
    parameters = [
        p["name"]
        for methods in schema["paths"].values()
        for op in methods.values()
        for p in op.get("parameters", [])
    ]

    assert body["required"] is True
    assert "format" not in parameters


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body", "field", "message"),
    [
        (
            "patch",
            "/api/v1/chat/settings",
            {"show_last_seen": 0},
            "show_last_seen",
            "true or false",
        ),
        ("post", "/api/v1/notifications/mark-read", {"ids": [False]}, "ids", "a string"),
        (
            "post",
            "/api/v1/auth/password/reset/request",
            {"identifier": 0},
            "identifier",
            "a string",
        ),
        (
            "post",
            "/api/v1/chat/messages/send",
            {"body": "Hi", "client_id": "c", "conversation_id": 7},
            "conversation_id",
            "a string",
        ),
    ],
)
def test_request_bodies_take_the_json_type_their_schema_gives(
    client_for, method, path, body, field, message
):
    from accounts.tests.factories import UserFactory

    response = getattr(client_for(UserFactory()), method)(path, body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][field] == [f"Must be {message}."]
