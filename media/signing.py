"""Expiring, revocable URLs for private media.

Every photo URL, on either storage, points at `media.views.signed_file`:
`/files/<key>?p=<photo>&v=<version>&e=<expiry>&s=<HMAC>`. The view serves it only while the
signature and expiry hold and the photo's `url_version` is still `v`: a block or a privacy
change raises the version in the transaction that makes it, and every URL handed out before
stops working once that commits. On the filesystem the view serves the file; on S3 (MinIO)
it redirects to a URL presigned for PRESIGNED_TTL seconds. A presigned URL cannot be revoked
(S3 checks it, not Aurum), so none is handed out in lists: each is made when a fetch passes
the check, and dies a minute later.
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from uuid import UUID

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.crypto import salted_hmac

# Seconds a presigned S3 URL lives: the client follows the redirect at once.
PRESIGNED_TTL = 60


def _signature(key: str, photo_id: str, version: int, expires: int) -> str:
    # A salt of its own: a signature made here is useless anywhere else SECRET_KEY signs.
    return salted_hmac(
        "aurum.media.signed-url",
        f"{key}\n{photo_id}\n{version}\n{expires}",
        algorithm="sha256",
    ).hexdigest()


def signed_url(key: str, *, photo_id: Any, version: int, ttl: int | None = None) -> str:
    """The URL of rendition `key` of photo `photo_id` at `url_version` `version`. It makes no
    query: lists sign their cards' photos from the rows they read anyway."""
    expires = int(time.time()) + (ttl or settings.MEDIA_URL_TTL)
    photo = str(photo_id)
    signature = _signature(key, photo, version, expires)
    # Relative unless AURUM_PUBLIC_URL names the public origin (the apps resolve relative URLs
    # against the API's base). Every value of the query is URL-safe as it is.
    path = _files_path(get_script_prefix(), get_urlconf()) + quote(key, safe=_PATH_SAFE)
    return f"{settings.AURUM_PUBLIC_URL}{path}?p={photo}&v={version}&e={expires}&s={signature}"


# As `reverse` quotes a path argument; reversing once per URL cost half of signing one.
_PATH_SAFE = "/~:@!$&'()*+,;="


@functools.lru_cache(maxsize=16)  # keyed by what `reverse` reads besides the name
def _files_path(script_prefix: str, urlconf: str | None) -> str:
    return reverse("media-signed", args=["-"], urlconf=urlconf)[:-1]


def photo_url(photo: Any, key: str) -> str:
    """`signed_url` for one of a Photo's keys."""
    return signed_url(key, photo_id=photo.pk, version=photo.url_version)


def on_filesystem() -> bool:
    return isinstance(storages["default"], FileSystemStorage)


def check(key: str, query: Mapping[str, str]) -> tuple[UUID, int] | None:
    """The (photo id, version) a URL of `key` was signed for, while it has not expired and
    its signature holds; None otherwise. Whether that version is still current is the
    caller's question (`media.selectors.photo_url_is_current`)."""
    try:
        deadline = int(query.get("e", ""))
        version = int(query.get("v", ""))
        photo_id = UUID(query.get("p", ""))
    except (TypeError, ValueError):
        return None
    if deadline < time.time():
        return None
    expected = _signature(key, str(photo_id), version, deadline)
    if not hmac.compare_digest(expected, query.get("s") or ""):
        return None
    return photo_id, version
