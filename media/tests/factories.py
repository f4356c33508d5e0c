"""Photo rows for other apps' tests, without uploading or rendering an image."""

from __future__ import annotations

from typing import Any

from media.models import Photo


def make_photo(owner: Any, status: str = "approved", **fields: Any) -> Photo:
    """A photo row of `owner` (a profile), its renditions named but not stored."""
    values: dict[str, Any] = {
        "tiny_key": f"t/{status}",
        "medium_key": f"m/{status}",
        "full_key": "f",
        "width": 9,
        "height": 9,
        "bytes": 9,
        **fields,
    }
    return Photo.objects.create(owner=owner.user, status=status, **values)
