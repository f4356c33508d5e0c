"""Expiring URLs for private media.

On S3 (or MinIO) the storage presigns the URL itself. On the filesystem, the URL points at
`media.views.signed_file` with an expiry and an HMAC of the key and expiry; the view serves
the file only while both check out.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage, storages
from django.urls import reverse
from django.utils.crypto import salted_hmac


def _signature(key: str, expires: int) -> str:
    # A salt of its own: a signature made here is useless anywhere else SECRET_KEY signs.
    return salted_hmac(
        "aurum.media.signed-url", f"{key}\n{expires}", algorithm="sha256"
    ).hexdigest()


def signed_url(key: str, ttl: int | None = None) -> str:
    ttl = ttl or settings.MEDIA_URL_TTL
    if not _on_filesystem():
        return default_storage.url(key)  # presigned by the S3 storage, MEDIA_URL_TTL seconds
    expires = int(time.time()) + ttl
    query = urlencode({"e": expires, "s": _signature(key, expires)})
    # Relative unless AURUM_PUBLIC_URL names the public origin (the apps resolve relative URLs
    # against the API's base).
    return f"{settings.AURUM_PUBLIC_URL}{reverse('media-signed', args=[key])}?{query}"


def _on_filesystem() -> bool:
    return isinstance(storages["default"], FileSystemStorage)


def check(key: str, expires: str, signature: str) -> bool:
    try:
        deadline = int(expires)
    except (TypeError, ValueError):
        return False
    if deadline < time.time():
        return False
    return hmac.compare_digest(_signature(key, deadline), signature or "")
