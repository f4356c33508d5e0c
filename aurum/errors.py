"""Domain errors: what a service raises when a rule says no.

They know nothing of HTTP, sockets or the admin. Each is mapped once: to an HTTP answer in
the API's shape (`aurum.api_errors`), to a WebSocket error frame (`aurum.sockets.error_frame`)
and to a message for the admin (`aurum.admin_mixins.refusal_message`). A refusal has a stable
`code` the apps switch on and a `detail` written for the member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A refusal: `detail` for people, `code` for programs."""

    default_detail = "That cannot be done."
    default_code = "error"

    def __init__(
        self,
        detail: str | None = None,
        code: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.detail = str(detail) if detail is not None else self.default_detail
        self.code = code or self.default_code
        self.retry_after = retry_after  # seconds until trying again may succeed, when known
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, {self.code!r})"


class Invalid(DomainError):
    """Bad input. `fields` maps a field (nested for nested input) to its messages; without
    fields the input as a whole is wrong and `code` says how."""

    default_detail = "Invalid input."
    default_code = "invalid"

    def __init__(
        self,
        detail: str | None = None,
        code: str | None = None,
        *,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, code)
        self.fields: dict[str, Any] = dict(fields or {})


class Unauthenticated(DomainError):
    """Who is asking could not be established: a wrong password, an unknown or spent token."""

    default_detail = "Authentication failed."
    default_code = "authentication_failed"


class Forbidden(DomainError):
    """Known, and not allowed to do this."""

    default_detail = "You may not do that."
    default_code = "permission_denied"


class NotFound(DomainError):
    """Does not exist, or is out of the asker's sight (the two are not told apart)."""

    default_detail = "Not found."
    default_code = "not_found"


class Conflict(DomainError):
    """Allowed in general, not in the state things are in now."""

    default_code = "conflict"


class TooLarge(DomainError):
    default_detail = "That is too large."
    default_code = "too_large"


class Unsupported(DomainError):
    """A kind of content we do not take (an animated image)."""

    default_detail = "That kind of content is not accepted."
    default_code = "unsupported"


class RateLimited(DomainError):
    """A limit is used up; `retry_after` says for how long, when the limit has a window."""

    default_detail = "Too many requests. Try again later."
    default_code = "rate_limited"

    def __init__(
        self, retry_after: float | None = None, detail: str | None = None, code: str | None = None
    ) -> None:
        wait = None if retry_after is None else max(1.0, float(retry_after))
        super().__init__(detail, code, retry_after=wait)


class Unavailable(DomainError):
    """Something we depend on is away for now; the same request may succeed later."""

    default_detail = "Not available just now; try again."
    default_code = "try_again"
