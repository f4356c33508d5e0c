"""Domain errors know nothing of HTTP; each is mapped once: to the API's answer, to a
WebSocket error frame and to the admin's words."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from aurum import errors
from aurum.admin_mixins import refusal_form_error, refusal_message
from aurum.api_errors import ApiErrorMiddleware, api_exception_handler, status_for
from aurum.sockets import domain_error_frame

STATUSES = [
    (errors.Invalid(), 400),
    (errors.Unauthenticated(), 401),
    (errors.Forbidden(), 403),
    (errors.NotFound(), 404),
    (errors.Conflict("Already decided.", "already_decided"), 409),
    (errors.TooLarge(), 413),
    (errors.Unsupported(), 415),
    (errors.RateLimited(30), 429),
    (errors.Unavailable(), 503),
    (errors.DomainError(), 400),
]


@pytest.mark.parametrize(("error", "status"), STATUSES)
def test_each_kind_answers_its_status_in_the_api_shape(error, status):
    response = api_exception_handler(error, {})
    assert response is not None and response.status_code == status == status_for(error)
    assert response.data == {"detail": error.detail, "code": error.code}
    assert not hasattr(error, "status_code")  # the error itself says nothing of HTTP


def test_bad_input_answers_its_fields_as_serializers_do():
    error = errors.Invalid(fields={"password": ["Too short."], "profile": {"gender": ["Pick."]}})
    response = api_exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == {
        "detail": "Invalid input.",
        "code": "invalid",
        "fields": {"password": ["Too short."], "profile": {"gender": ["Pick."]}},
    }


def test_a_limit_says_when_to_come_back():
    response = api_exception_handler(errors.RateLimited(retry_after=12.2, code="daily_limit"), {})
    assert response["Retry-After"] == "13" and response.data["code"] == "daily_limit"
    assert "Retry-After" not in api_exception_handler(errors.RateLimited(), {})
    conflict = errors.Conflict("Wait.", "recently_declined", retry_after=3600)
    assert api_exception_handler(conflict, {})["Retry-After"] == "3600"


def test_a_plain_view_under_the_api_answers_json_too():
    request = RequestFactory().get("/api/v1/anything")
    middleware = ApiErrorMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]
    response = middleware.process_exception(request, errors.RateLimited(5))
    assert response is not None and response.status_code == 429
    assert response["Retry-After"] == "5" and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "detail": "Too many requests. Try again later.",
        "code": "rate_limited",
    }
    outside = RequestFactory().get("/admin/")
    assert middleware.process_exception(outside, errors.NotFound()) is None


def test_the_socket_hears_the_same_code_and_detail():
    assert domain_error_frame(errors.NotFound()) == {
        "type": "error",
        "code": "not_found",
        "detail": "Not found.",
    }
    frame = domain_error_frame(errors.RateLimited(0.2, "Slow down.", "too_many_connections"))
    assert frame["code"] == "too_many_connections" and frame["retry_after"] == 1


def test_the_admin_shows_the_words_by_field_and_after_the_record():
    error = errors.Invalid(fields={"note": ["Say why."], "profile": {"gender": ["Pick one."]}})
    assert refusal_message(error) == "note: Say why.; profile.gender: Pick one."
    assert refusal_message(errors.Conflict("Already approved."), "AUZ56WUA") == (
        "AUZ56WUA: Already approved."
    )
    form_error = refusal_form_error(errors.Forbidden("Moderators act on members only.", "staff"))
    assert form_error.messages == ["Moderators act on members only."]
    assert form_error.code == "staff"
