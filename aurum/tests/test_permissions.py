from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from accounts.tests.factories import UserFactory, make_admin, make_moderator
from aurum.permissions import IsAdminRole, IsModerator

pytestmark = pytest.mark.django_db


def request_as(user):
    request = APIRequestFactory().get("/")
    request.user = user
    return request


@pytest.mark.parametrize(
    ("who", "moderator", "admin"),
    [
        ("anonymous", False, False),
        ("member", False, False),
        ("suspended_moderator", False, False),
        ("moderator", True, False),
        ("admin", True, True),
    ],
)
def test_role_permissions(who, moderator, admin):
    user = {
        "anonymous": lambda: AnonymousUser(),
        "member": lambda: UserFactory(),
        "suspended_moderator": lambda: make_moderator(is_active=False),
        "moderator": lambda: make_moderator(),
        "admin": lambda: make_admin(),
    }[who]()
    request = request_as(user)

    assert IsModerator().has_permission(request, None) is moderator
    assert IsAdminRole().has_permission(request, None) is admin
