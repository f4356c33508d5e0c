from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import make_moderator
from media.models import Photo
from media.tests import images
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

UPLOAD = "/api/v1/media/upload"


def upload(client, data: bytes, name: str = "photo.jpg"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def stored_keys() -> set[str]:
    keys = set()
    for photo in Photo.objects.all():
        keys.update(photo.keys)
    return keys


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, settings):
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


def test_upload_stores_three_renditions(client_for, storage):
    member = make_member()
    client = client_for(member.user)

    response = upload(client, images.jpeg(3000, 2000, gps=True))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"image_id", "tiny_url", "medium_url", "full_url", "status"}
    assert body["status"] == "pending" and body["is_primary"] is True
    photo = Photo.objects.get()
    for key in photo.keys:
        assert default_storage.exists(key)
        assert key.startswith(f"photos/{member.user_id}/")
        assert "photo.jpg" not in key  # never the client's file name
    with default_storage.open(photo.full_key) as handle:
        full = Image.open(io.BytesIO(handle.read()))
        assert max(full.size) == 2048 and len(full.getexif()) == 0


def test_filesystem_signed_url_works_then_expires(client_for, client, settings):
    member = make_member()
    body = upload(client_for(member.user), images.jpeg()).json()

    served = client.get(body["tiny_url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    assert b"".join(served.streaming_content).startswith(b"RIFF")

    url = urlparse(body["tiny_url"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    tampered = client.get(url.path, {**query, "s": "0" * 64})
    other_version = client.get(url.path, {**query, "v": "1"})  # the signature covers it
    other_key = client.get(url.path.replace("tiny.webp", "full.jpg") + "?" + url.query)
    assert tampered.status_code == other_version.status_code == other_key.status_code == 404

    from media import signing

    photo = Photo.objects.get()
    expired = signing.signed_url(photo.tiny_key, photo_id=photo.pk, version=0, ttl=-1)
    assert client.get(expired).status_code == 404
    assert time.time() + 850 < int(query["e"]) <= time.time() + 900


def test_s3_urls_go_through_the_signed_view_to_a_presigned_url_made_then(
    client_for, client, s3_storage
):
    body = upload(client_for(make_member().user), images.jpeg()).json()

    url = urlparse(body["medium_url"])
    redirect = client.get(body["medium_url"])

    assert url.path.startswith("/files/photos/") and "X-Amz-Signature" not in url.query
    assert redirect.status_code == 302 and redirect["Cache-Control"] == "no-store"
    assert fetch(client, body["medium_url"]) == 200  # the presigned URL lives 60 s


def test_pending_photos_are_seen_only_by_owner_and_staff(client_for):
    bride, groom = make_member(), make_groom()
    upload(client_for(bride.user), images.jpeg())

    as_groom = client_for(groom.user).get(f"/api/v1/profiles/{bride.user_id}").json()
    as_owner = client_for(bride.user).get("/api/v1/profiles/me").json()
    as_staff = client_for(make_moderator()).get(f"/api/v1/profiles/{bride.user_id}").json()

    assert as_groom["photo"] is None
    assert as_owner["photo"]["tiny_url"] and as_staff["photo"]["medium_url"]


def test_approved_photo_reaches_members_unless_limited_to_accepted_interests(client_for):
    bride, groom = make_member(), make_groom()
    upload(client_for(bride.user), images.jpeg())
    Photo.objects.update(status="approved")

    visible = client_for(groom.user).get(f"/api/v1/profiles/{bride.user_id}").json()["photo"]
    client_for(bride.user).patch(
        "/api/v1/profiles/me",
        {"profile": {"photo_visibility": "accepted_interests"}},
        format="json",
    )
    limited = client_for(groom.user).get(f"/api/v1/profiles/{bride.user_id}").json()["photo"]

    assert visible is not None and visible["tiny_url"]
    assert limited is None


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"<html>not a photo</html>", 415),
        (images.webp_animated(), 415),
        (images.jpeg()[:3000], 400),
    ],
)
def test_bad_uploads_store_nothing(client_for, data, status):
    response = upload(client_for(make_member().user), data)

    assert response.status_code == status, response.content
    assert set(response.json()) >= {"detail", "code"}
    assert Photo.objects.count() == 0


def test_a_decompression_bomb_is_refused_and_stores_nothing(client_for):
    response = upload(client_for(make_member().user), images.png_bomb(6000, 6000), "bomb.png")

    assert response.status_code == 413, response.content
    assert response.json()["code"] == "too_many_pixels"
    assert Photo.objects.count() == 0


def test_missing_field_is_400(client_for):
    response = client_for(make_member().user).post(UPLOAD, {}, format="multipart")

    assert response.status_code == 400


def test_too_large_is_413(client_for, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 10_000

    response = upload(client_for(make_member().user), images.jpeg(1600, 1200))

    assert response.status_code == 413
    assert Photo.objects.count() == 0


def test_the_eleventh_photo_is_409(client_for, settings):
    settings.MEDIA_MAX_PHOTOS = 2
    client = client_for(make_member().user)
    upload(client, images.jpeg(400, 300))
    upload(client, images.jpeg(400, 300))

    response = upload(client, images.jpeg(400, 300))

    assert response.status_code == 409 and response.json()["code"] == "too_many_photos"
    assert Photo.objects.count() == 2


def test_a_storage_failure_leaves_nothing_behind(client_for, monkeypatch, storage):
    from django.core.files.storage import storages

    client = client_for(make_member().user)
    storage_class = type(storages["default"])
    real_save = storage_class.save
    saved: list[str] = []

    def failing_save(self, name, content, *args, **kwargs):
        if name.endswith("full.jpg"):
            raise OSError("disk full")
        saved.append(real_save(self, name, content, *args, **kwargs))
        return saved[-1]

    monkeypatch.setattr(storage_class, "save", failing_save)
    response = upload(client, images.jpeg())

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert Photo.objects.count() == 0
    assert len(saved) == 2
    assert not any(default_storage.exists(key) for key in saved)


def test_delete_removes_every_rendition(client_for, django_capture_on_commit_callbacks):
    client = client_for(make_member().user)
    image_id = upload(client, images.jpeg()).json()["image_id"]
    keys = Photo.objects.get().keys

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/media/images/{image_id}")

    assert response.status_code == 204
    assert Photo.objects.count() == 0
    assert not any(default_storage.exists(key) for key in keys)


def test_another_members_photo_cannot_be_deleted_or_made_primary(client_for):
    owner = make_member()
    image_id = upload(client_for(owner.user), images.jpeg()).json()["image_id"]
    intruder = client_for(make_groom().user)

    assert intruder.delete(f"/api/v1/media/images/{image_id}").status_code == 404
    assert (
        intruder.post(
            "/api/v1/media/profile-image", {"image_id": image_id}, format="json"
        ).status_code
        == 404
    )
    assert Photo.objects.count() == 1


def test_primary_photo_switches(client_for):
    client = client_for(make_member().user)
    first = upload(client, images.jpeg(400, 300)).json()["image_id"]
    second = upload(client, images.jpeg(400, 300)).json()["image_id"]

    client.post("/api/v1/media/profile-image", {"image_id": second}, format="json")

    listed = client.get("/api/v1/media/images").json()["results"]
    primary = {p["image_id"]: p["is_primary"] for p in listed}
    assert primary == {first: False, second: True}


def test_photo_counts_towards_completion(client_for):
    member = make_member()
    client = client_for(member.user)

    upload(client, images.jpeg())

    assert client.get("/api/v1/profiles/me").json()["completion"] == 100


def test_uploads_need_a_token(api):
    assert api.post(UPLOAD, {}, format="multipart").status_code == 401


def test_moderator_review_notifies(client_for):
    from media import services
    from notifications.models import Notification

    member = make_member()
    upload(client_for(member.user), images.jpeg())

    services.photo_review(moderator=make_moderator(), photo=Photo.objects.get(), approved=False)

    assert Photo.objects.get().status == "rejected"
    assert Notification.objects.get(recipient=member.user).kind == "photo_rejected"


def test_photo_queue_in_admin_shows_thumbnails_and_approves(client, client_for):
    from django.urls import reverse

    from notifications.models import Notification

    member = make_member()
    upload(client_for(member.user), images.jpeg())
    photo = Photo.objects.get()
    client.force_login(make_moderator())

    listing = client.get(reverse("admin:media_photo_changelist")).content.decode()
    queue_page = client.get(
        reverse("admin:onboarding_verificationqueue_change", args=[member.pk])
    ).content.decode()
    client.post(
        reverse("admin:media_photo_changelist"),
        {"action": "approve", "_selected_action": [photo.pk]},
    )

    assert "tiny.webp" in listing and "<img" in listing
    assert "tiny.webp" in queue_page
    assert Photo.objects.get().status == "approved"
    assert Notification.objects.get(recipient=member.user).kind == "photo_approved"


@pytest.mark.parametrize("select_across", ["0", "1"])
@pytest.mark.parametrize(
    ("action", "said", "status"),
    [("approve", "Approved", "approved"), ("reject", "Rejected", "rejected")],
)
def test_bulk_review_of_the_pending_queue_says_how_many_it_decided(
    client, client_for, select_across, action, said, status
):
    """Filtered to "Pending review", the decided photos leave the filter as they are decided:
    the message counts what was decided, not what the filter still holds afterwards."""
    from django.urls import reverse

    for _ in range(3):
        member = make_member()
        upload(client_for(member.user), images.jpeg())
    client.force_login(make_moderator())
    pending = reverse("admin:media_photo_changelist") + "?status__exact=pending"

    response = client.post(
        pending,
        {
            "action": action,
            "select_across": select_across,
            "index": "0",
            "_selected_action": [photo.pk for photo in Photo.objects.all()],
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [f"{said} 3 photo(s)."]
    assert set(Photo.objects.values_list("status", flat=True)) == {status}


def test_ensure_bucket_creates_a_missing_bucket(s3_storage, settings):
    from io import StringIO

    import boto3
    from django.core.management import call_command

    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**options, "bucket_name": "fresh-bucket"},
        },
    }
    out = StringIO()

    call_command("ensure_bucket", stdout=out)
    call_command("ensure_bucket", stdout=out)

    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    assert "fresh-bucket" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert out.getvalue().splitlines() == [
        "bucket fresh-bucket created",
        "bucket fresh-bucket exists",
    ]


def test_blocked_viewer_gets_no_photo(client_for):
    from moderation import services as moderation

    bride, groom = make_member(), make_groom()
    upload(client_for(bride.user), images.jpeg())
    Photo.objects.update(status="approved")
    moderation.block_create(blocker=bride.user, blocked=groom.user)

    from policy import photo_for

    assert photo_for(viewer=groom.user, profile=bride) is None
    assert photo_for(viewer=bride.user, profile=bride) is not None


def test_deleting_an_account_removes_its_files(client_for, django_capture_on_commit_callbacks):
    member = make_member()
    upload(client_for(member.user), images.jpeg())
    keys = Photo.objects.get().keys

    with django_capture_on_commit_callbacks(execute=True):
        member.user.delete()

    assert not any(default_storage.exists(key) for key in keys)


def test_ready_fails_when_the_bucket_is_missing(client, s3_storage, settings):
    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**options, "bucket_name": "no-such"},
        },
    }

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "down"


def test_tests_write_media_under_a_temporary_folder(settings):
    from django.core.files.storage import storages

    assert "pytest" in str(storages["default"].location)


def test_public_url_makes_file_urls_absolute(client_for, settings):
    settings.AURUM_PUBLIC_URL = "https://api.aurum.example"

    body = upload(client_for(make_member().user), images.jpeg()).json()

    assert body["tiny_url"].startswith("https://api.aurum.example/files/photos/")


def test_uploads_are_rate_limited_per_member(client_for, settings):
    settings.AURUM_RATE_LIMITS = {**settings.AURUM_RATE_LIMITS, "photo_upload_user": "2/h"}
    member, other = make_member(), make_groom()
    client = client_for(member.user)
    assert upload(client, images.jpeg(400, 300)).status_code == 201
    assert upload(client, b"<html>not a photo</html>").status_code == 415  # refusals count too

    limited = upload(client, images.jpeg(400, 300))

    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited" and int(limited["Retry-After"]) > 0
    assert Photo.objects.filter(owner=member.user).count() == 1
    assert upload(client_for(other.user), images.jpeg(400, 300)).status_code == 201


# --- revoking photo URLs ----------------------------------------------------------------------


def fetch(client, url: str) -> int:
    """The status a client fetching the photo URL ends with: on S3 the signed view redirects to
    a presigned URL on moto's server, which is fetched too."""
    import urllib.request

    response = client.get(url)
    if response.status_code != 302:
        return response.status_code
    location = response["Location"]
    query = parse_qs(urlparse(location).query)
    assert int(query["X-Amz-Expires"][0]) <= 60 and "X-Amz-Signature" in query
    with urllib.request.urlopen(location) as stored:  # noqa: S310 - moto's local endpoint
        assert stored.read(4) == b"RIFF"
        return stored.status


def approved_pair(client_for):
    bride, groom = make_member(), make_groom()
    for member in (bride, groom):
        upload(client_for(member.user), images.jpeg(400, 300))
    Photo.objects.update(status="approved")
    return bride, groom


def seen_by(client_for, viewer, owner) -> str:
    return (
        client_for(viewer.user).get(f"/api/v1/profiles/{owner.user_id}").json()["photo"]["tiny_url"]
    )


def test_a_block_stops_the_photo_urls_either_member_holds(client_for, client, storage):
    from moderation.services import block_create

    bride, groom = approved_pair(client_for)
    brides_photo = seen_by(client_for, groom, bride)
    grooms_photo = seen_by(client_for, bride, groom)
    assert fetch(client, brides_photo) == fetch(client, grooms_photo) == 200

    block_create(blocker=bride.user, blocked=groom.user)

    assert fetch(client, brides_photo) == 404  # the blocked member's copy of the blocker's
    assert fetch(client, grooms_photo) == 404  # and the blocker's copy of the blocked one's
    own = client_for(bride.user).get("/api/v1/media/images").json()["results"][0]
    assert fetch(client, own["tiny_url"]) == 200  # a URL made now works


def test_a_block_rolled_back_revokes_nothing(client_for, client):
    from django.db import transaction

    from moderation.models import Block
    from moderation.services import block_create

    bride, groom = approved_pair(client_for)
    brides_photo = seen_by(client_for, groom, bride)

    with pytest.raises(RuntimeError), transaction.atomic():
        block_create(blocker=bride.user, blocked=groom.user)
        raise RuntimeError("the request failed after blocking")

    assert not Block.objects.exists()
    assert fetch(client, brides_photo) == 200


def test_keeping_photos_to_accepted_interests_stops_the_urls_others_hold(
    client_for, client, storage
):
    bride, groom = approved_pair(client_for)
    brides_photo = seen_by(client_for, groom, bride)
    assert fetch(client, brides_photo) == 200

    changed = client_for(bride.user).patch(
        "/api/v1/profiles/me",
        {"profile": {"photo_visibility": "accepted_interests"}},
        format="json",
    )

    assert changed.status_code == 200
    assert fetch(client, brides_photo) == 404


def test_hibernating_stops_the_photo_urls_others_hold(client_for, client):
    bride, groom = approved_pair(client_for)
    brides_photo = seen_by(client_for, groom, bride)

    client_for(bride.user).patch(
        "/api/v1/profiles/me", {"profile": {"is_hidden": True}}, format="json"
    )

    assert fetch(client, brides_photo) == 404


def test_other_profile_changes_keep_photo_urls(client_for, client):
    bride, groom = approved_pair(client_for)
    brides_photo = seen_by(client_for, groom, bride)

    client_for(bride.user).patch(
        "/api/v1/profiles/me", {"profile": {"about": "Hello"}}, format="json"
    )

    assert fetch(client, brides_photo) == 200


def test_a_rejected_or_deleted_photo_stops_its_urls(client_for, client, storage):
    from media import services

    member = make_member()
    owner = client_for(member.user)
    first = upload(owner, images.jpeg(400, 300)).json()
    second = upload(owner, images.jpeg(400, 300)).json()
    assert fetch(client, first["medium_url"]) == fetch(client, second["medium_url"]) == 200

    services.photo_review(
        moderator=make_moderator(), photo=Photo.objects.get(pk=first["image_id"]), approved=False
    )
    owner.delete(f"/api/v1/media/images/{second['image_id']}")

    assert fetch(client, first["medium_url"]) == 404
    assert fetch(client, second["medium_url"]) == 404  # on S3 the object is still there


def test_photo_urls_live_a_quarter_of_an_hour_by_default():
    from aurum import settings as defaults

    assert defaults.MEDIA_URL_TTL == 900


@pytest.mark.parametrize("key", ["photos/a/b/tiny.webp", "photos/a b/ü%?#/full.jpg"])
def test_signed_urls_name_the_path_reverse_does(key):
    import uuid

    from django.urls import reverse

    from media import signing

    url = signing.signed_url(key, photo_id=uuid.uuid4(), version=2)

    assert url.split("?")[0] == reverse("media-signed", args=[key])
