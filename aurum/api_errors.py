"""Every API error in the API's one shape: `{"detail", "code"}`, plus `fields` for bad input.

The one place a domain error (`aurum.errors`) becomes an HTTP status.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from aurum import errors
from aurum.bodylimit import TOO_LARGE

logger = logging.getLogger("aurum.errors")  # the name operators filter on

# Most specific first: the first class an error is an instance of gives its status.
STATUS: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.Invalid, status.HTTP_400_BAD_REQUEST),
    (errors.Unauthenticated, status.HTTP_401_UNAUTHORIZED),
    (errors.Forbidden, status.HTTP_403_FORBIDDEN),
    (errors.NotFound, status.HTTP_404_NOT_FOUND),
    (errors.Conflict, status.HTTP_409_CONFLICT),
    (errors.TooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (errors.Unsupported, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (errors.RateLimited, status.HTTP_429_TOO_MANY_REQUESTS),
    (errors.Unavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
    (errors.DomainError, status.HTTP_400_BAD_REQUEST),
)


def status_for(exc: errors.DomainError) -> int:
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def domain_response(exc: errors.DomainError) -> Response:
    """A domain error as the API answers it."""
    if isinstance(exc, errors.Invalid) and exc.fields:
        data: dict[str, Any] = {
            "detail": exc.detail,
            "code": exc.code,
            "fields": _messages(exc.fields),
        }
    else:
        data = {"detail": exc.detail, "code": exc.code}
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return Response(data, status=status_for(exc), headers=headers)


def _first_code(detail: Any) -> str:
    if isinstance(detail, exceptions.ErrorDetail):
        return detail.code or "error"
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_code(next(iter(detail.values())))
    return "error"


def _messages(value: Any) -> Any:
    """Field errors as plain strings, keeping the nesting of nested serializers."""
    if isinstance(value, dict):
        return {str(k): _messages(v) for k, v in value.items()}
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [str(item) for item in value]
        return [_messages(item) for item in value]
    return [str(value)]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        return domain_response(exc)
    if isinstance(exc, Ratelimited):  # django-ratelimit's decorators
        return domain_response(errors.RateLimited(retry_after=60))
    if isinstance(exc, RequestDataTooBig):
        return Response(dict(TOO_LARGE), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request could not be read.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail

    if isinstance(exc, exceptions.ValidationError):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {
            "detail": "Invalid input.",
            "code": "invalid",
            "fields": _messages(fields),
        }
        return response

    if isinstance(detail, dict):
        # simplejwt nests its own {"detail", "code", "messages"}.
        message = str(detail.get("detail", exc.default_detail))
        code = str(detail.get("code", exc.default_code))
    elif isinstance(detail, list):
        message = " ".join(str(item) for item in detail)
        code = _first_code(detail)
    else:
        message = str(detail)
        code = getattr(detail, "code", None) or exc.default_code
    response.data = {"detail": message, "code": code}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(math.ceil(exc.wait))
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class ApiErrorMiddleware:
    """An uncaught exception under /api/ answers JSON 500 (also with DEBUG on), and is logged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request) or isinstance(exception, (Http404, PermissionDenied)):
            return None
        if isinstance(exception, errors.DomainError):  # raised outside DRF, in a plain view
            answer = domain_response(exception)
            response = JsonResponse(answer.data, status=answer.status_code)
            if "Retry-After" in answer:  # the only header it adds; its Content-Type is HTML's
                response["Retry-After"] = answer["Retry-After"]
            return response
        if isinstance(exception, SuspiciousOperation):
            response = api_exception_handler(exception, {})
            if response is not None:
                return JsonResponse(response.data, status=response.status_code)
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return server_error_json()


def server_error_json() -> JsonResponse:
    return JsonResponse(
        {"detail": "Internal server error.", "code": "server_error"},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


@csrf_exempt  # no session here: an unknown DELETE or PATCH path is a 404, not a CSRF 403 page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return server_error_json()
    from django.views.defaults import server_error

    return server_error(request)
