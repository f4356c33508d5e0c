"""Access tokens, checked per request: signature and expiry (simplejwt), an active account,
a session that was not revoked, and whether the session used MFA (for staff powers).

An access token is not looked up in the database, so revoking one is a mark in the cache per
revoked session (`sid`), kept for as long as an access token lives: one cache read a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.tokens import AccessToken

SESSION_CLAIM = "sid"
# RFC 8176 authentication method references: "pwd" (password), "sms" (a code by SMS),
# "otp" (the TOTP authenticator). Staff powers need "otp" when staff MFA is required.
METHODS_CLAIM = "amr"
MFA_METHOD = "otp"


def _revoked_key(session_id: str) -> str:
    return f"revoked-session:{session_id}"


def sessions_revoke(session_ids: Iterable[str]) -> None:
    """Access tokens of these sessions stop working now, not when they expire."""
    ttl = int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()) + 60
    marks = {_revoked_key(sid): 1 for sid in session_ids if sid}
    if marks:
        cache.set_many(marks, timeout=ttl)


def session_revoked(claims: Any) -> bool:
    session_id = claims.get(SESSION_CLAIM)
    return bool(session_id) and cache.get(_revoked_key(session_id)) is not None


def used_mfa(claims: Any) -> bool:
    return MFA_METHOD in (claims.get(METHODS_CLAIM) or ())


def _mark_verified(user: Any, claims: Any) -> None:
    # django-otp's protocol (`user.is_verified()`), which the staff-MFA rule reads for
    # admin sessions and API tokens alike.
    verified = used_mfa(claims)
    user.is_verified = lambda: verified


class TokenAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication, refusing revoked sessions."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        found = super().authenticate(request)
        if found is None:
            return None
        user, token = found
        if session_revoked(token):
            raise AuthenticationFailed("This session has ended.", code="token_revoked")
        _mark_verified(user, token)
        return user, token


def user_for_access_token(raw_token: str) -> tuple[Any, Any] | None:
    """The active user and the claims of a valid, unrevoked access token, or None (for the
    WebSocket's `?token=` and `auth` frames)."""
    from accounts.models import User

    try:
        token = AccessToken(raw_token)
    except TokenError:
        return None
    if session_revoked(token):
        return None
    user = User.objects.filter(pk=token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])).first()
    if user is None or not user.is_active:
        return None
    _mark_verified(user, token)
    return user, token


class TokenAuthenticationScheme(SimpleJWTScheme):
    """The schema's security scheme: the Bearer JWT of simplejwt's, which this extends."""

    target_class = "accounts.authentication.TokenAuthentication"


@database_sync_to_async
def user_for_socket_token(raw_token: str) -> tuple[Any, int | None]:
    """The token's active user and its expiry (a Unix time), or an anonymous user. A token
    of a revoked session counts as none."""
    found = user_for_access_token(raw_token)
    if found is None:
        return AnonymousUser(), None
    user, token = found
    user.session_id = token.get("sid")  # an ended session closes its sockets (session.revoked)
    return user, int(token["exp"])
