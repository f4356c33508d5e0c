from __future__ import annotations

from django.core.files.storage import FileSystemStorage, storages


def ensure_bucket() -> str:
    """Make the media bucket (private) if it is missing; a no-op on the filesystem."""
    storage = storages["default"]
    if isinstance(storage, FileSystemStorage):
        return "filesystem storage: nothing to create"
    bucket = storage.bucket  # django-storages' boto3 Bucket
    client = storage.connection.meta.client
    try:
        client.head_bucket(Bucket=bucket.name)
        return f"bucket {bucket.name} exists"
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=bucket.name)
        return f"bucket {bucket.name} created"
