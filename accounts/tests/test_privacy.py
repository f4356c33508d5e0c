"""A member's copy of their data (`POST auth/me/export`) and the deletion of their account
(`DELETE auth/me`), as the apps use them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuditAction, AuditLog, User
from accounts.privacy import DELETED_NAME, member_parts
from accounts.tests.factories import PASSWORD, UserFactory, make_admin, make_moderator
from accounts.tests.test_mfa import CONFIRM, QR, code_after_last, code_for
from chat import services as chat
from chat.models import Conversation, Message
from matching import services as matching
from media.models import Photo
from media.tests import images
from moderation.services import block_create
from notifications.models import Kind, Notification
from notifications.services import device_register, notify
from profiles.models import Career, Education, Family, PartnerPreferences, Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"
EXPORT = "/api/v1/auth/me/export"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"

# Relations to an account that stay when it is deleted, on purpose: moderators' and other
# members' records, which point at the anonymous account from then on.
KEPT = {
    ("accounts.auditlog", "actor"),
    ("moderation.report", "reporter"),
    ("moderation.report", "reported"),
    ("moderation.report", "resolved_by"),
    ("chat.message", "sender"),
    ("chat.call", "caller"),
    ("chat.call", "callee"),
    ("media.photo", "reviewed_by"),
    ("profiles.profile", "reviewed_by"),
}


def login(email: str) -> APIClient:
    client = APIClient()
    response = client.post(LOGIN, {"identifier": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    client.refresh_token = response.json()["refresh_token"]  # type: ignore[attr-defined]
    return client


@pytest.fixture
def bride_world() -> dict[str, Any]:
    """A member with something in every part: a conversation, a photo, a shortlist, a block,
    a visit, a notification, a device."""
    bride, groom = make_member(), make_groom()
    other, blocked = make_groom(), make_groom()
    interest = matching.interest_send(sender=groom.user, receiver=bride.user)
    matching.interest_accept(user=bride.user, interest=interest)
    conversation = Conversation.objects.get()
    chat.message_send(
        sender=bride.user,
        body="Namaskaram, Arjun",
        client_id="b-1",
        conversation_id=conversation.pk,
    )
    chat.message_send(
        sender=groom.user, body="Namaskaram!", client_id="g-1", conversation_id=conversation.pk
    )
    matching.shortlist_add(owner=bride.user, target=other.user)
    matching.shortlist_add(owner=other.user, target=bride.user)
    matching.visit_record(viewer=bride.user, owner_id=other.user.pk)
    matching.visit_record(viewer=other.user, owner_id=bride.user.pk)
    block_create(blocker=bride.user, blocked=blocked.user)
    notify(recipient=bride.user, kind=Kind.INTEREST_RECEIVED, title="Hello")
    device_register(user=bride.user, token="fcm-token-of-the-bride", platform="android")
    client = login(bride.user.email)
    upload = SimpleUploadedFile("me.jpg", images.jpeg(600, 800))
    photo = client.post("/api/v1/media/upload", {"file": upload}, format="multipart")
    assert photo.status_code == 201, photo.content
    return {
        "bride": bride.user,
        "groom": groom.user,
        "other": other.user,
        "conversation": conversation,
        "client": client,
    }


def test_the_export_holds_every_part_and_nothing_of_anyone_else(bride_world):
    bride, groom = bride_world["bride"], bride_world["groom"]

    response = bride_world["client"].post(EXPORT, {"password": PASSWORD}, format="json")

    assert response.status_code == 200
    data = response.json()
    assert list(data) == member_parts()
    assert data["account"]["email"] == bride.email
    assert data["account"]["activity"][-1]["action"] == "login_success"
    assert data["profile"]["user_id"] == str(bride.pk)
    assert data["profile"]["education"]["level"] == bride.profile.education.level
    assert [m["body"] for m in data["chat"]["messages_sent"]] == ["Namaskaram, Arjun"]
    assert data["chat"]["conversations"][0]["other_user_id"] == str(groom.pk)
    assert [i["sender_id"] for i in data["matching"]["interests"]] == [str(groom.pk)]
    assert len(data["matching"]["shortlisted"]) == len(data["matching"]["visitors"]) == 1
    assert len(data["moderation"]["blocked"]) == 1
    assert data["notifications"]["devices"][0]["token"] == "fcm-token-of-the-bride"
    assert any(n["title"] == "Hello" for n in data["notifications"]["notifications"])
    # Photos come as signed URLs that work.
    photo_url = data["photos"][0]["full_url"]
    fetched = APIClient().get(urlparse(photo_url).path + "?" + urlparse(photo_url).query)
    assert fetched.status_code == 200
    # The other member's contact details and messages are theirs, not in this copy.
    text = json.dumps(data)
    assert groom.email not in text and groom.phone not in text
    assert "Namaskaram!" not in text


def test_a_stolen_access_token_alone_cannot_export(bride_world):
    client = bride_world["client"]

    no_password = client.post(EXPORT, {}, format="json")
    wrong = client.post(EXPORT, {"password": "a-guess-at-it-9"}, format="json")
    as_get = client.get(EXPORT)

    assert no_password.status_code == 400 and "password" in no_password.json()["fields"]
    assert wrong.status_code == 400 and "password" in wrong.json()["fields"]
    assert as_get.status_code == 405
    assert "email" not in json.dumps([no_password.json(), wrong.json(), as_get.json()])


def test_export_needs_a_session(api):
    assert api.post(EXPORT, {"password": PASSWORD}, format="json").status_code == 401


def test_a_wrong_password_deletes_nothing(bride_world):
    client, bride = bride_world["client"], bride_world["bride"]

    response = client.delete(ME, {"password": "not-it"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"password": ["The password is wrong."]}
    bride.refresh_from_db()
    assert bride.is_active and bride.deleted_at is None
    assert Profile.objects.filter(user=bride).exists() and Photo.objects.filter(owner=bride)


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "password"), ({"password": PASSWORD, "extra": 1}, "extra"), ([PASSWORD], None)],
)
def test_bad_input_deletes_nothing(bride_world, body, field):
    response = bride_world["client"].delete(ME, body, format="json")

    assert response.status_code == 400
    if field:
        assert field in response.json()["fields"]
    assert User.objects.get(pk=bride_world["bride"].pk).is_active


def mfa_member(client_for) -> tuple[User, APIClient, TOTPDevice]:
    member = make_member().user
    client = client_for(member)
    client.get(QR)
    device = TOTPDevice.objects.get(user=member)
    assert (
        client.post(
            CONFIRM, {"code": code_for(device), "password": PASSWORD}, format="json"
        ).status_code
        == 204
    )
    device.refresh_from_db()
    return member, client, device


def test_with_mfa_on_the_code_is_needed_too(client_for):
    member, client, device = mfa_member(client_for)

    refused = client.delete(ME, {"password": PASSWORD}, format="json")
    assert refused.status_code == 401 and refused.json()["code"] == "mfa_required"
    assert User.objects.get(pk=member.pk).is_active

    code = code_after_last(device)  # the confirming code is spent
    ok = client.delete(ME, {"password": PASSWORD, "mfa_code": code}, format="json")
    assert ok.status_code == 204
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_a_wrong_code_deletes_nothing(client_for):
    member, client, _ = mfa_member(client_for)

    wrong = client.delete(ME, {"password": PASSWORD, "mfa_code": "000000"}, format="json")

    assert wrong.status_code == 401 and wrong.json()["code"] == "mfa_invalid"
    assert User.objects.get(pk=member.pk).is_active


def test_staff_close_their_accounts_through_an_admin(client_for):
    moderator = make_moderator()

    response = client_for(moderator).delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 403 and response.json()["code"] == "staff_account"
    assert User.objects.get(pk=moderator.pk).is_active


def test_deleting_the_account(bride_world, django_capture_on_commit_callbacks):
    bride, groom, client = bride_world["bride"], bride_world["groom"], bride_world["client"]
    email, keys = bride.email, Photo.objects.get(owner=bride).keys
    first_name = bride.first_name
    assert Notification.objects.filter(recipient=groom, title__contains=first_name).exists()
    profile_id = bride.profile.pk
    assert all(default_storage.exists(key) for key in keys)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    bride.refresh_from_db()
    assert (bride.email, bride.phone, bride.first_name, bride.last_name) == (
        None,
        None,
        DELETED_NAME,
        "",
    )
    assert not bride.is_active and not bride.admin_approved and bride.deleted_at is not None
    assert not bride.has_usable_password()
    # Everything that must go, went: the profile and its sections, photos from storage too.
    assert not Profile.objects.filter(pk=profile_id).exists()
    for section in (Education, Career, Family, PartnerPreferences):
        assert not section.objects.filter(profile_id=profile_id).exists()
    assert not any(default_storage.exists(key) for key in keys)
    assert not OutstandingToken.objects.filter(user=bride).exists()
    assert not Notification.objects.filter(recipient=bride).exists()
    # Every relation to the account is empty now, but for the records kept on purpose (a
    # model added later without saying what happens to its rows fails here).
    left = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and field.related_model is User:
                count = model._base_manager.filter(**{field.name: bride}).count()
                if count and (model._meta.label_lower, field.name) not in KEPT:
                    left[(model._meta.label_lower, field.name)] = count
    assert left == {}
    # The session is over, and the account cannot come back.
    assert client.get("/api/v1/auth/me").status_code == 401
    assert (
        client.post(REFRESH, {"refresh_token": client.refresh_token}, format="json").status_code
        == 401
    )
    assert (
        APIClient()
        .post(LOGIN, {"identifier": email, "password": PASSWORD}, format="json")
        .status_code
        == 401
    )
    # Nothing the others were told names her any more ("Anjali accepted your interest").
    assert not Notification.objects.filter(title__contains=first_name).exists()
    # The other member keeps the conversation and its messages, from a deleted member.
    conversations = login(groom.email).get("/api/v1/chat/conversations").json()["results"]
    assert [c["other_name"] for c in conversations] == [DELETED_NAME]
    assert Message.objects.filter(sender=bride).count() == 1
    # The audit log keeps anonymous records: no addresses, and one saying what happened.
    assert not AuditLog.objects.filter(actor=bride, ip__isnull=False).exists()
    assert AuditLog.objects.filter(actor=bride, action=AuditAction.ACCOUNT_DELETED).exists()
    # The email address is free for a new account.
    assert UserFactory(email=email).pk != bride.pk


def test_a_hibernating_member_keeps_everything(bride_world):
    client, bride = bride_world["client"], bride_world["bride"]

    hidden = client.patch("/api/v1/profiles/me", {"profile": {"is_hidden": True}}, format="json")
    data = client.post(EXPORT, {"password": PASSWORD}, format="json").json()

    assert hidden.status_code == 200, hidden.content
    assert data["profile"]["is_hidden"] is True
    assert data["chat"]["messages_sent"] and data["photos"] and data["matching"]["interests"]
    assert User.objects.get(pk=bride.pk).is_active


def test_nothing_comes_back_for_a_deleted_account(bride_world, django_capture_on_commit_callbacks):
    from accounts.services import user_set_active
    from aurum.errors import Conflict, Forbidden
    from chat.models import ChatSettings
    from media.services import photo_upload

    bride = bride_world["bride"]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            bride_world["client"].delete(ME, {"password": PASSWORD}, format="json").status_code
            == 204
        )
    bride = User.objects.get(pk=bride.pk)

    # Her sockets close after the erasure; the close must not write a "last seen" again.
    chat.connection_close(user=bride, channel_name="specific.gone")
    # A moderator resolving an old report against her, a message to her inbox: nothing kept.
    assert notify(recipient=bride, kind=Kind.SUSPENSION, title="Suspended") is None
    # An upload that was in flight when she deleted her account finds it closed.
    with pytest.raises(Forbidden) as refused:
        photo_upload(owner=bride, data=images.jpeg(64, 64))
    # And no one can bring the account back.
    with pytest.raises(Conflict) as revived:
        user_set_active(actor=make_moderator(), user=bride, active=True)

    assert not ChatSettings.objects.filter(user=bride).exists()
    assert not Notification.objects.filter(recipient=bride).exists()
    assert refused.value.code == "account_closed" and not Photo.objects.filter(owner=bride).exists()
    assert isinstance(revived.value, Conflict) and not User.objects.get(pk=bride.pk).is_active


def test_a_conversation_goes_once_both_members_are_gone(bride_world):
    from accounts.privacy import member_erase

    member_erase(bride_world["bride"])
    assert Message.objects.filter(conversation=bride_world["conversation"]).count() == 2

    member_erase(bride_world["groom"])

    assert not Conversation.objects.filter(pk=bride_world["conversation"].pk).exists()
    assert not Message.objects.filter(conversation_id=bride_world["conversation"].pk).exists()


def test_the_admin_shows_a_deleted_account_read_only(rf):
    from django.contrib import admin

    from accounts.privacy import member_erase

    member = make_member().user
    member_erase(member)
    request = rf.get("/admin/")
    request.user = UserFactory(role="admin")

    fields = admin.site._registry[User].get_readonly_fields(request, User.objects.get(pk=member.pk))

    assert {"is_active", "role", "email", "phone", "first_name"} <= set(fields)


def test_the_admin_reactivates_a_suspended_account_never_a_deleted_one(client):
    from accounts.privacy import member_erase
    from accounts.services import user_set_active

    suspended, deleted = make_member().user, make_member().user
    user_set_active(actor=None, user=suspended, active=False)
    member_erase(deleted)
    client.force_login(make_admin())

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reactivate", "_selected_action": [str(suspended.pk), str(deleted.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert User.objects.get(pk=suspended.pk).is_active
    assert not User.objects.get(pk=deleted.pk).is_active
    assert "1 deleted by their members: those stay closed." in response.content.decode()
