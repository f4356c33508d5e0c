from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts import selectors
from accounts.models import User


class IdentifierBackend(ModelBackend):
    """Authenticates by email or phone (the admin's login form takes either)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = selectors.user_by_identifier(identifier=username)
        if selectors.password_matches(user, password) and self.user_can_authenticate(user):
            return user
        return None
