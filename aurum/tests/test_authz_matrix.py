"""The authorization matrix: every API endpoint (read from the URL configuration) against
anonymous, the owner of what it names, another member, a member the owner blocked, a
suspended member, a moderator and an admin, with the status each must get.

An endpoint without a row fails `test_every_endpoint_has_a_row`: a new endpoint must say who
may use it. Refusals are exact (401 without a session, 403 for a role, 404 for what is not
yours or hidden from you); a 2xx where the row refuses is an authorization hole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue, user_set_active
from accounts.tests.factories import UserFactory, make_moderator
from chat import services as chat
from chat.models import Conversation
from matching import services as matching
from media.services import photo_upload
from media.tests import images
from moderation.services import block_create, report_create
from notifications.services import device_register, notify
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "other", "blocked", "suspended", "moderator", "admin", "owner")
World = dict[str, Any]


@dataclass
class Row:
    method: str
    route: str  # as the URL configuration spells it
    path: Callable[[World], str]
    expect: dict[str, int]
    body: Callable[[World], Any] = field(default=lambda world: {})
    # Checked after everyone but the owner has tried: the owner's thing is as it was.
    intact: Callable[[World], bool] | None = None


def statuses(
    *,
    anonymous: int = 401,
    owner: int,
    other: int | None = None,
    blocked: int | None = None,
    suspended: int = 401,
    moderator: int | None = None,
    admin: int | None = None,
) -> dict[str, int]:
    """Unnamed roles answer as the owner does (other members) or as the moderator does
    (admin)."""
    other = owner if other is None else other
    moderator = owner if moderator is None else moderator
    return {
        "anonymous": anonymous,
        "owner": owner,
        "other": other,
        "blocked": other if blocked is None else blocked,
        "suspended": suspended,
        "moderator": moderator,
        "admin": moderator if admin is None else admin,
    }


def public(status: int) -> dict[str, int]:
    """Public endpoints answer everyone alike: a session changes nothing."""
    return dict.fromkeys(ROLES, status)


def member(status: int, *, staff: int | None = None) -> dict[str, int]:
    """Anyone signed in, about their own things."""
    return statuses(owner=status, moderator=status if staff is None else staff)


def staff_only(status: int) -> dict[str, int]:
    return statuses(owner=403, moderator=status)


def owner_only(status: int, *, staff: int = 404) -> dict[str, int]:
    """The owner's own thing, named in the path: hidden from everyone else."""
    return statuses(owner=status, other=404, moderator=staff)


def me(world: World) -> str:
    return str(world["owner"].pk)


ROWS = [
    # Identity: public endpoints validate before anything else.
    Row("POST", "api/v1/auth/register", lambda w: "/api/v1/auth/register", public(400)),
    Row("POST", "api/v1/auth/login", lambda w: "/api/v1/auth/login", public(400)),
    Row("POST", "api/v1/auth/refresh", lambda w: "/api/v1/auth/refresh", public(400)),
    Row("POST", "api/v1/auth/logout", lambda w: "/api/v1/auth/logout", public(400)),
    Row("POST", "api/v1/auth/otp/send", lambda w: "/api/v1/auth/otp/send", public(400)),
    Row("POST", "api/v1/auth/otp/verify", lambda w: "/api/v1/auth/otp/verify", public(400)),
    Row(
        "POST",
        "api/v1/auth/password/reset/request",
        lambda w: "/api/v1/auth/password/reset/request",
        public(400),
    ),
    Row(
        "POST",
        "api/v1/auth/password/reset/confirm",
        lambda w: "/api/v1/auth/password/reset/confirm",
        public(400),
    ),
    Row("GET", "api/v1/auth/me", lambda w: "/api/v1/auth/me", member(200)),
    Row(
        "DELETE",
        "api/v1/auth/me",
        lambda w: "/api/v1/auth/me",
        member(400, staff=403),
        body=lambda w: {"password": "not-the-password"},
    ),
    Row(
        "POST",
        "api/v1/auth/me/export",
        lambda w: "/api/v1/auth/me/export",
        member(400),  # a token alone is not enough: the password is wrong here
        body=lambda w: {"password": "not-the-password"},
    ),
    Row(
        "POST",
        "api/v1/auth/password/change",
        lambda w: "/api/v1/auth/password/change",
        member(400),
    ),
    Row("GET", "api/v1/auth/mfa/qrcode", lambda w: "/api/v1/auth/mfa/qrcode", member(200)),
    Row("POST", "api/v1/auth/mfa/confirm", lambda w: "/api/v1/auth/mfa/confirm", member(400)),
    Row("POST", "api/v1/auth/mfa/disable", lambda w: "/api/v1/auth/mfa/disable", member(400)),
    # Onboarding: a member's own record, or staff.
    Row("POST", "api/v1/onboarding/signup", lambda w: "/api/v1/onboarding/signup", public(400)),
    Row(
        "POST",
        "api/v1/onboarding/complete-profile/<str:user_id>",
        lambda w: f"/api/v1/onboarding/complete-profile/{me(w)}",
        owner_only(400, staff=400),
    ),
    Row(
        "GET",
        "api/v1/onboarding/verification-status/<str:user_id>",
        lambda w: f"/api/v1/onboarding/verification-status/{me(w)}",
        owner_only(200, staff=200),
    ),
    Row(
        "GET",
        "api/v1/onboarding/admin/pending-verifications",
        lambda w: "/api/v1/onboarding/admin/pending-verifications",
        staff_only(200),
    ),
    Row(
        "POST",
        "api/v1/onboarding/admin/verify-user/<str:user_id>",
        lambda w: f"/api/v1/onboarding/admin/verify-user/{w['pending'].pk}?approved=true",
        # The moderator decides; the admin, asking next, finds it decided.
        statuses(owner=403, moderator=200, admin=409),
    ),
    # Moderation.
    Row("POST", "api/v1/moderation/report", lambda w: "/api/v1/moderation/report", member(400)),
    Row("POST", "api/v1/moderation/block", lambda w: "/api/v1/moderation/block", member(400)),
    Row(
        "DELETE",
        "api/v1/moderation/block/<str:user_id>",
        lambda w: f"/api/v1/moderation/block/{w['blocked'].pk}",
        member(204),  # idempotent: only the caller's own block goes
        intact=lambda w: w["owner"].blocks_made.filter(blocked=w["blocked"]).exists(),
    ),
    Row("GET", "api/v1/moderation/blocks", lambda w: "/api/v1/moderation/blocks", member(200)),
    Row(
        "GET",
        "api/v1/moderation/admin/reports",
        lambda w: "/api/v1/moderation/admin/reports",
        staff_only(200),
    ),
    Row(
        "POST",
        "api/v1/moderation/admin/reports/<str:report_id>/resolve",
        lambda w: f"/api/v1/moderation/admin/reports/{w['report'].pk}/resolve",
        staff_only(400),
    ),
    # Notifications: always the caller's own.
    Row("GET", "api/v1/notifications/", lambda w: "/api/v1/notifications/", member(200)),
    Row(
        "POST",
        "api/v1/notifications/mark-read",
        lambda w: "/api/v1/notifications/mark-read",
        member(200),
        body=lambda w: {"all": True},
        intact=lambda w: w["owner"].notifications.filter(read_at__isnull=True).exists(),
    ),
    Row(
        "POST",
        "api/v1/notifications/devices",
        lambda w: "/api/v1/notifications/devices",
        member(400),
    ),
    Row(
        "DELETE",
        "api/v1/notifications/devices/<path:token>",
        lambda w: f"/api/v1/notifications/devices/{w['device']}",
        member(204),  # idempotent: someone else's token is left alone (`intact`)
        intact=lambda w: w["owner"].device_tokens.filter(token=w["device"]).exists(),
    ),
    Row(
        "GET",
        "api/v1/notifications/preferences",
        lambda w: "/api/v1/notifications/preferences",
        member(200),
    ),
    Row(
        "PATCH",
        "api/v1/notifications/preferences",
        lambda w: "/api/v1/notifications/preferences",
        member(200),
    ),
    # Media.
    # Uploads are multipart: a JSON body is refused as such, after authentication.
    Row("POST", "api/v1/media/upload", lambda w: "/api/v1/media/upload", member(415)),
    Row(
        "POST",
        "api/v1/media/profile-image",
        lambda w: "/api/v1/media/profile-image",
        owner_only(200),
        body=lambda w: {"image_id": str(w["photo"].pk)},
    ),
    Row("GET", "api/v1/media/images", lambda w: "/api/v1/media/images", member(200)),
    Row(
        "DELETE",
        "api/v1/media/images/<str:image_id>",
        lambda w: f"/api/v1/media/images/{w['photo'].pk}",
        owner_only(204),
    ),
    # Matching.
    # Staff have no member profile to search or match from: 409, as a member without one.
    Row(
        "GET",
        "api/v1/matching/search",
        lambda w: "/api/v1/matching/search",
        member(200, staff=409),
    ),
    Row("GET", "api/v1/matching/feed", lambda w: "/api/v1/matching/feed", member(200, staff=409)),
    Row("GET", "api/v1/matching/visitors", lambda w: "/api/v1/matching/visitors", member(200)),
    Row(
        "GET", "api/v1/matching/shortlisted", lambda w: "/api/v1/matching/shortlisted", member(200)
    ),
    Row(
        "POST",
        "api/v1/matching/shortlist/<str:profile_id>",
        lambda w: f"/api/v1/matching/shortlist/{w['owner'].profile_code}",
        # Only a visible member acts on others: staff have no profile others see (403).
        statuses(owner=400, other=201, blocked=404, moderator=403),
    ),
    Row(
        "DELETE",
        "api/v1/matching/shortlist/<str:profile_id>",
        lambda w: f"/api/v1/matching/shortlist/{w['owner'].profile_code}",
        # Taking someone off one's own list works whoever they are now (hidden, blocked).
        member(204),
    ),
    Row(
        "POST",
        "api/v1/matching/ignore/<str:profile_id>",
        lambda w: f"/api/v1/matching/ignore/{w['owner'].profile_code}",
        statuses(owner=400, other=204, blocked=404, moderator=204),
    ),
    Row(
        "DELETE",
        "api/v1/matching/ignore/<str:profile_id>",
        lambda w: f"/api/v1/matching/ignore/{w['owner'].profile_code}",
        member(204),
    ),
    Row("GET", "api/v1/matching/interests", lambda w: "/api/v1/matching/interests", member(200)),
    Row("POST", "api/v1/matching/interests", lambda w: "/api/v1/matching/interests", member(400)),
    Row(
        "POST",
        "api/v1/matching/interests/<str:interest_id>/accept",
        lambda w: f"/api/v1/matching/interests/{w['interest'].pk}/accept",
        owner_only(200),
    ),
    Row(
        "POST",
        "api/v1/matching/interests/<str:interest_id>/decline",
        lambda w: f"/api/v1/matching/interests/{w['interest'].pk}/decline",
        owner_only(200),
    ),
    Row(
        "POST",
        "api/v1/matching/interests/<str:interest_id>/withdraw",
        lambda w: f"/api/v1/matching/interests/{w['sent'].pk}/withdraw",
        owner_only(200),
    ),
    # Chat: a conversation is its two members' only.
    Row("GET", "api/v1/chat/conversations", lambda w: "/api/v1/chat/conversations", member(200)),
    Row("POST", "api/v1/chat/messages/send", lambda w: "/api/v1/chat/messages/send", member(400)),
    Row(
        "GET",
        "api/v1/chat/messages/<str:conversation_id>",
        lambda w: f"/api/v1/chat/messages/{w['conversation'].pk}",
        owner_only(200),
    ),
    Row(
        "POST",
        "api/v1/chat/messages/<str:conversation_id>/read",
        lambda w: f"/api/v1/chat/messages/{w['conversation'].pk}/read",
        owner_only(200),
        body=lambda w: {"up_to_id": w["message"].pk},
    ),
    Row(
        "PATCH",
        "api/v1/chat/messages/<str:conversation_id>/<int:message_id>",
        lambda w: f"/api/v1/chat/messages/{w['conversation'].pk}/{w['message'].pk}",
        owner_only(200),
        body=lambda w: {"body": "Edited"},
    ),
    Row(
        "DELETE",
        "api/v1/chat/messages/<str:conversation_id>/<int:message_id>",
        lambda w: f"/api/v1/chat/messages/{w['conversation'].pk}/{w['message'].pk}",
        owner_only(200),  # answers with the message as it now reads
    ),
    Row("GET", "api/v1/chat/settings", lambda w: "/api/v1/chat/settings", member(200)),
    Row("PATCH", "api/v1/chat/settings", lambda w: "/api/v1/chat/settings", member(200)),
    Row("GET", "api/v1/chat/calls", lambda w: "/api/v1/chat/calls", member(200)),
    Row(
        "GET",
        "api/v1/chat/calls/turn-credentials",
        lambda w: "/api/v1/chat/calls/turn-credentials",
        member(200),
    ),
    # Profiles.
    Row("GET", "api/v1/profiles/me", lambda w: "/api/v1/profiles/me", member(200, staff=404)),
    Row("PATCH", "api/v1/profiles/me", lambda w: "/api/v1/profiles/me", member(200, staff=404)),
    # Master data (districts, castes, stars), needed on the sign-up screens: public.
    Row("GET", "api/v1/profiles/choices", lambda w: "/api/v1/profiles/choices", public(200)),
    Row(
        "GET",
        "api/v1/profiles/<str:public_id>",
        lambda w: f"/api/v1/profiles/{w['owner'].profile_code}",
        statuses(owner=200, blocked=404),
    ),
    Row("GET", "api/v1/dashboard", lambda w: "/api/v1/dashboard", member(200, staff=404)),
]


def api_routes() -> set[tuple[str, str]]:
    found = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            route = prefix + str(pattern.pattern)
            view = getattr(pattern.callback, "view_class", None)
            if route.startswith("api/v1/") and view is not None:
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view, method):
                        found.add((method.upper(), route))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_endpoint_has_a_row():
    rows = [(row.method, row.route) for row in ROWS]

    assert len(rows) == len(set(rows)), "a route is listed twice"
    assert set(rows) == api_routes()


@pytest.fixture
def world(settings) -> World:
    settings.TURN_SECRET = "turn-secret-for-the-matrix"
    settings.TURN_URIS = ["turn:turn.aurum.example:3478"]
    owner, partner, suitor = make_member(), make_groom(), make_groom()
    other, blocked, wanted = make_groom(), make_groom(), make_groom()
    accepted = matching.interest_send(sender=partner.user, receiver=owner.user)
    matching.interest_accept(user=owner.user, interest=accepted)
    conversation = Conversation.objects.get()
    message, _ = chat.message_send(
        sender=owner.user, body="Namaskaram", client_id="m-1", conversation_id=conversation.pk
    )
    block_create(blocker=owner.user, blocked=blocked.user)
    device_register(user=owner.user, token="fcm-token-of-the-owner", platform="android")
    notify(recipient=owner.user, kind="interest_received", title="Hello")
    suspended = make_member().user
    users: dict[str, User] = {
        "owner": owner.user,
        "other": other.user,
        "blocked": blocked.user,
        "suspended": suspended,
        "moderator": make_moderator(),
        "admin": UserFactory(role="admin"),
    }
    tokens = {role: tokens_issue(user=user).access_token for role, user in users.items()}
    user_set_active(actor=None, user=suspended, active=False)
    return {
        **users,
        "tokens": tokens,
        "photo": photo_upload(owner=owner.user, data=images.jpeg(64, 64)),
        "conversation": conversation,
        "message": message,
        "interest": matching.interest_send(sender=suitor.user, receiver=owner.user),
        "sent": matching.interest_send(sender=owner.user, receiver=wanted.user),
        "report": report_create(reporter=owner.user, reported=other.user, reason="fake_profile"),
        "device": "fcm-token-of-the-owner",
        "pending": make_member(approved=False).user,
    }


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.route}")
def test_who_may_do_what(row, world):
    got = {}
    for role in ROLES:  # the owner last: its request may change what the row names
        if role == "owner" and row.intact is not None:
            assert row.intact(world), f"{row.method} {row.route}: another role changed it"
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][role]}")
        response = client.generic(
            row.method,
            row.path(world),
            data=None if row.method == "GET" else _json(row.body(world)),
            content_type="application/json",
        )
        got[role] = response.status_code

    assert got == row.expect, f"{row.method} {row.route}: {got}"


def _json(body: Any) -> str:
    import json

    return json.dumps(body)
