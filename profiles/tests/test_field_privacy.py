"""Field-level privacy: every member-facing list and page that can show a member (profile,
search, feed, interests, shortlist, visitors, conversations, notifications, dashboard) is
read as a stranger, as an accepted contact and as a member she blocked, and her phone,
email, WhatsApp and photo URLs appear exactly where the contact and photo rules allow; her last
activity only ever as a bucket (profiles.selectors.last_active_shown), never when she hides it.

Presence and last seen travel on /ws/chat only; chat/tests/test_chat_ws.py holds them to the
same rule (contacts only, never after a block, and not at all when hidden).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import tokens_issue
from accounts.tests.factories import make_moderator
from chat import services as chat
from chat.models import Conversation
from matching import services as matching
from media.services import photo_review, photo_upload
from media.tests import images
from moderation.services import block_create
from profiles.choices import PhotoVisibility
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

PAGES = [
    "/api/v1/profiles/{code}",
    "/api/v1/matching/search?page_size=50",
    "/api/v1/matching/feed",
    "/api/v1/matching/interests?direction=sent",
    "/api/v1/matching/interests?direction=received",
    "/api/v1/matching/shortlisted",
    "/api/v1/matching/visitors",
    "/api/v1/chat/conversations",
    "/api/v1/notifications/",
    "/api/v1/dashboard",
]


@pytest.fixture
def world() -> dict[str, Any]:
    owner = make_member(whatsapp="+919811122233")
    stranger, contact, blocked = make_groom(), make_groom(), make_groom()
    # Each viewer has the owner in some list: an interest, a shortlist, her visit.
    accepted = matching.interest_send(sender=contact.user, receiver=owner.user)
    matching.interest_accept(user=owner.user, interest=accepted)
    chat.message_send(
        sender=owner.user,
        body="Namaskaram",
        client_id="c-1",
        conversation_id=Conversation.objects.get().pk,
    )
    for viewer in (stranger, blocked):
        matching.interest_send(sender=viewer.user, receiver=owner.user)
    for viewer in (stranger, contact, blocked):
        matching.shortlist_add(owner=viewer.user, target=owner.user)
        matching.visit_record(viewer=owner.user, owner_id=viewer.user.pk)
    block_create(blocker=owner.user, blocked=blocked.user)
    photo = photo_upload(owner=owner.user, data=images.jpeg(64, 64))
    photo_review(moderator=make_moderator(), photo=photo, approved=True)
    return {
        "owner": owner,
        "photo": photo,
        "viewers": {"stranger": stranger, "contact": contact, "blocked": blocked},
    }


def read_everything(viewer: Profile, code: str) -> str:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=viewer.user).access_token}")
    pages = []
    for page in PAGES:
        response = client.get(page.format(code=code))
        assert response.status_code in (200, 404), (page, response.status_code)
        pages.append(response.json())
    return json.dumps(pages)


def seen(text: str, world: dict[str, Any]) -> dict[str, bool]:
    owner, photo = world["owner"], world["photo"]
    return {
        "phone": owner.user.phone in text,
        "email": owner.user.email in text,
        "whatsapp": owner.whatsapp in text,
        "photo": str(photo.pk) in text,  # in every rendition's URL (photos/<owner>/<id>/…)
        "profile": owner.user.profile_code in text,
    }


def test_with_photos_for_all_members(world):
    code = world["owner"].user.profile_code

    found = {
        name: seen(read_everything(viewer, code), world)
        for name, viewer in world["viewers"].items()
    }

    assert found == {
        "stranger": {
            "phone": False,
            "email": False,
            "whatsapp": False,
            "photo": True,
            "profile": True,
        },
        "contact": {"phone": True, "email": True, "whatsapp": True, "photo": True, "profile": True},
        # Blocked: she is gone from every list and page, photos and all.
        "blocked": {
            "phone": False,
            "email": False,
            "whatsapp": False,
            "photo": False,
            "profile": False,
        },
    }


def test_with_photos_for_accepted_interests_only(world):
    owner = world["owner"]
    Profile.objects.filter(pk=owner.pk).update(photo_visibility=PhotoVisibility.ACCEPTED_INTERESTS)

    found = {
        name: seen(read_everything(viewer, owner.user.profile_code), world)["photo"]
        for name, viewer in world["viewers"].items()
    }

    assert found == {"stranger": False, "contact": True, "blocked": False}


def test_hibernating_she_is_gone_for_everyone(world):
    owner = world["owner"]
    Profile.objects.filter(pk=owner.pk).update(is_hidden=True)

    found = {
        name: seen(read_everything(viewer, owner.user.profile_code), world)
        for name, viewer in world["viewers"].items()
    }

    assert not any(flag for flags in found.values() for flag in flags.values()), found


def her_cards(text: str, owner: Profile) -> list[dict[str, Any]]:
    """Every card or profile of hers in the pages read (whatever the nesting)."""
    found = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("id") == str(owner.pk) and "last_active" in value:
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(text))
    return found


@pytest.mark.parametrize("hidden", [False, True])
def test_her_last_activity_is_only_ever_a_bucket(world, hidden):
    owner = world["owner"]
    # Hours away from every other time stamp of the world (all made just now).
    moment = timezone.now().replace(microsecond=654321) - timedelta(days=2, hours=3, minutes=17)
    Profile.objects.filter(pk=owner.pk).update(last_active_at=moment)
    if hidden:
        chat.settings_update(user=owner.user, changes={"show_last_seen": False})

    for name in ("stranger", "contact"):
        text = read_everything(world["viewers"][name], owner.user.profile_code)
        cards = her_cards(text, owner)

        assert moment.strftime("%Y-%m-%dT%H:%M") not in text, name
        assert "654321" not in text, name
        # the profile, search, the interest (sent or accepted), the shortlist, the visitors
        assert len(cards) >= 5, (name, len(cards))
        expected = (None, None) if hidden else (None, "this_week")
        assert {(c["last_active_at"], c["last_active"]) for c in cards} == {expected}, name
