"""Photos: upload (process, store, record — all or nothing), primary, delete, review."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import staff
from accounts.models import User
from aurum.errors import Conflict, DomainError, Forbidden, NotFound, TooLarge, Unavailable
from media.models import Photo, PhotoStatus, StorageOrphan
from media.processing import BadImage, make_renditions
from notifications.choices import Kind
from notifications.services import notify

logger = logging.getLogger("aurum.media")


def _remove(keys: list[str]) -> int:
    """Delete stored files; what storage refuses is kept as a `StorageOrphan` for the sweeper.
    Returns how many went."""
    removed = 0
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception as exc:  # storage away for a moment: the sweeper tries again
            logger.warning("could not delete %s: %s", key, exc)
            orphan, _ = StorageOrphan.objects.get_or_create(key=key)
            StorageOrphan.objects.filter(pk=orphan.pk).update(
                attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:300]
            )
        else:
            StorageOrphan.objects.filter(key=key).delete()
            removed += 1
    return removed


def orphans_sweep(*, limit: int = 1000) -> int:
    """Try again to delete the files a photo left behind (scheduled: media.tasks)."""
    keys = list(StorageOrphan.objects.order_by("created_at").values_list("key", flat=True)[:limit])
    return _remove(keys)


def check_upload_size(size: int) -> None:
    """413 for a body over MEDIA_MAX_UPLOAD_BYTES; the view asks with the announced
    Content-Length before reading the body, and the upload asks again with the real size."""
    if size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise TooLarge("The photo is too large.", "too_large")


def photo_upload(*, owner: User, data: bytes) -> Photo:
    """Process the upload into three renditions, store them, then record the photo.

    Nothing is half-stored: if processing fails nothing was written; if storing or recording
    fails, every object already written is deleted again. Keys are made here, never from the
    client's file name.
    """
    check_upload_size(len(data))
    if Photo.objects.filter(owner=owner).count() >= settings.MEDIA_MAX_PHOTOS:
        raise _too_many()
    try:
        renditions = make_renditions(data)
    except BadImage as exc:
        raise exc.kind(exc.detail, exc.code) from exc

    photo_id = uuid.uuid4()
    prefix = f"photos/{owner.pk}/{photo_id}"
    planned = {
        "tiny": (f"{prefix}/tiny.webp", renditions.tiny),
        "medium": (f"{prefix}/medium.webp", renditions.medium),
        "full": (f"{prefix}/full.jpg", renditions.full),
    }
    written: list[str] = []
    try:
        for key, rendition in planned.values():
            written.append(default_storage.save(key, ContentFile(rendition.data)))
        with transaction.atomic():
            # The owner's row is the lock: parallel uploads count one after another, and an
            # account deleted (or suspended) meanwhile takes no photo after its erasure.
            locked = User.objects.select_for_update().filter(pk=owner.pk).first()
            if locked is None or not locked.is_active:
                raise Forbidden("This account is closed.", "account_closed")
            if Photo.objects.filter(owner=owner).count() >= settings.MEDIA_MAX_PHOTOS:
                raise _too_many()
            has_primary = Photo.objects.filter(owner=owner, is_primary=True).exists()
            photo = Photo.objects.create(
                id=photo_id,
                owner=owner,
                tiny_key=written[0],
                medium_key=written[1],
                full_key=written[2],
                width=renditions.full.width,
                height=renditions.full.height,
                bytes=sum(len(r.data) for _, r in planned.values()),
                position=Photo.objects.filter(owner=owner).count(),
                is_primary=not has_primary,
                status=PhotoStatus.APPROVED if settings.MEDIA_AUTO_APPROVE else PhotoStatus.PENDING,
            )
    except DomainError:
        _remove(written)
        raise
    except Exception as exc:
        _remove(written)
        logger.exception("storing photo %s failed", photo_id)
        raise Unavailable(
            "Photo storage is unavailable right now. Try again.",
            "storage_unavailable",
        ) from exc
    return photo


def _too_many() -> DomainError:
    return Conflict(
        f"A member has at most {settings.MEDIA_MAX_PHOTOS} photos: delete one first.",
        "too_many_photos",
    )


def remove_files_later(keys: list[str]) -> None:
    """Delete stored renditions once the current transaction commits. They are recorded as
    orphans in that transaction first, so a process that dies before deleting them, or a
    storage that refuses, leaves them to the sweeper rather than in the bucket for good."""
    StorageOrphan.objects.bulk_create(
        [StorageOrphan(key=key) for key in keys], ignore_conflicts=True
    )
    transaction.on_commit(lambda: _remove(keys))


def _own_photo(owner: User, photo: Photo | None) -> Photo:
    if photo is None or photo.owner_id != owner.pk:
        raise NotFound()
    return photo


def photo_make_primary(*, owner: User, photo: Photo | None) -> Photo:
    photo = _own_photo(owner, photo)
    with transaction.atomic():
        Photo.objects.filter(owner=owner, is_primary=True).exclude(pk=photo.pk).update(
            is_primary=False
        )
        Photo.objects.filter(pk=photo.pk).update(is_primary=True)
    photo.is_primary = True
    return photo


def photo_delete(*, owner: User, photo: Photo | None) -> None:
    """The row goes at once; every rendition leaves storage once that commits."""
    photo = _own_photo(owner, photo)
    with transaction.atomic():
        was_primary = photo.is_primary
        photo.delete()
        if was_primary:
            successor = Photo.objects.filter(owner=owner).order_by("position", "created_at").first()
            if successor is not None:
                Photo.objects.filter(pk=successor.pk).update(is_primary=True)
        # The renditions leave storage after commit (the post_delete handler in media/receivers.py).


def photo_review(*, moderator: User, photo: Photo, approved: bool, ip: str | None = None) -> Photo:
    """A moderator's decision on a member's photo (accounts.staff: members' photos only)."""
    staff.act_check(actor=moderator, target=photo.owner, change=staff.Change.PHOTO_REVIEW, ip=ip)
    with transaction.atomic():
        photo.status = PhotoStatus.APPROVED if approved else PhotoStatus.REJECTED
        photo.reviewed_by = moderator
        photo.reviewed_at = timezone.now()
        fields = ["status", "reviewed_by", "reviewed_at"]
        if not approved:  # members who were shown it lose it now, not when their URLs expire
            photo.url_version += 1
            fields.append("url_version")
        photo.save(update_fields=fields)
        notify(
            recipient=photo.owner,
            kind=Kind.PHOTO_APPROVED if approved else Kind.PHOTO_REJECTED,
            title="Your photo is approved" if approved else "A photo was not approved",
            body=""
            if approved
            else "It does not meet Aurum's photo rules. Please upload a clear photo of yourself.",
            data={"photo": str(photo.pk)},
        )
    return photo


def photo_urls_revoke(*, owner_ids: list[Any]) -> int:
    """End every URL handed out for these members' photos, once the caller's transaction
    commits (a block, a privacy change): the URLs carry the photo's `url_version`, which this
    raises. URLs made afterwards work, for whoever may still see the photos."""
    return Photo.objects.filter(owner_id__in=owner_ids).update(url_version=F("url_version") + 1)


def as_payload(photo: Photo) -> dict[str, Any]:
    from media.signing import photo_url

    return {
        "image_id": photo.pk,
        "tiny_url": photo_url(photo, photo.tiny_key),
        "medium_url": photo_url(photo, photo.medium_key),
        "full_url": photo_url(photo, photo.full_key),
        "status": photo.status,
        "is_primary": photo.is_primary,
        "width": photo.width,
        "height": photo.height,
        "created_at": photo.created_at,
    }
