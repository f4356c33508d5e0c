from typing import Any

from django.core.management.base import BaseCommand

from media.storage_setup import ensure_bucket


class Command(BaseCommand):
    help = "Create the media bucket if it is missing (S3/MinIO); run at start-up."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(ensure_bucket())
