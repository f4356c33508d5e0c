"""WebSocket wiring: JWT from `?token=` and an origin check that fits mobile apps."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts.authentication import user_for_socket_token


class JwtQueryAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from the access token in `?token=` (anonymous when it is bad) and
    scope["token_expires"], when the connection must close.

    Consumers close anonymous connections, and connections whose token expired, with 4401.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin1"))
        raw = (query.get("token") or [""])[0]
        user, expires = await user_for_socket_token(raw) if raw else (AnonymousUser(), None)
        scope = dict(scope, user=user, token_expires=expires)
        return await super().__call__(scope, receive, send)


class AppOriginValidator(OriginValidator):
    """Browsers always send Origin, and cross-site WebSocket hijacking needs a browser: an
    Origin must match an allowed host or CORS origin. Native apps send none and pass."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_checked(application: Any) -> AppOriginValidator:
    """A CORS origin matches whole (scheme, host and port); an allowed host matches the
    Origin's host alone, on any scheme and port, as in Channels' AllowedHostsOriginValidator
    (patterns without a scheme): a page the server itself serves on
    `http://127.0.0.1:8000` reaches its sockets."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]  # Channels' and Django's DEBUG fallback
    return AppOriginValidator(application, [*settings.CORS_ALLOWED_ORIGINS, *hosts])
