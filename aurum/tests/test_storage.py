"""Storage through STORAGES: S3 (moto's real HTTP server standing in for MinIO) and files."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

pytestmark = pytest.mark.django_db


def test_s3_storage_round_trip_and_signed_urls(s3_storage):
    name = default_storage.save("probe/hello.txt", ContentFile(b"namaskaram"))

    assert default_storage.exists(name)
    with default_storage.open(name) as handle:
        assert handle.read() == b"namaskaram"
    url = urlparse(default_storage.url(name))
    query = parse_qs(url.query)
    assert url.path.startswith(f"/{s3_storage}/")  # path-style addressing, as MinIO wants
    assert query["X-Amz-Expires"] == ["300"]
    assert "X-Amz-Signature" in query
    default_storage.delete(name)
    assert not default_storage.exists(name)


def test_ready_checks_s3(client, s3_storage):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["storage"] == "ok"


def test_filesystem_storage_is_the_embedded_default(settings):
    from aurum import settings as project

    if project.S3_BUCKET:
        pytest.skip("S3_BUCKET is set in this environment")
    assert project.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage")
    assert str(project.STORAGES["default"]["OPTIONS"]["location"]).endswith("var/media")
