"""The beat schedule: its tasks, and the in-process schedule of the embedded default."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import tasks as account_tasks
from accounts.models import CodePurpose, OneTimeCode
from accounts.services import code_issue, tokens_issue
from accounts.tests.factories import UserFactory
from aurum.celery import InProcessBeat, app, lifespan
from deliveries.models import Status
from deliveries.services import queue
from media import services as media
from media import tasks as media_tasks
from media.models import StorageOrphan

pytestmark = pytest.mark.django_db


def test_every_scheduled_task_is_registered_and_queued_by_kind():
    app.autodiscover_tasks(force=True)
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks)
    assert {name: entry["options"]["queue"] for name, entry in schedule.items()} == {
        "deliveries-sweep": "schedules",
        "deliveries-purge": "schedules",
        "chat-ring-out": "schedules",
        "accounts-purge-codes": "schedules",
        "accounts-purge-tokens": "schedules",
        "profiles-inactivity": "schedules",
        "matching-digests": "digests",
        "matching-purge-digests": "digests",
        "media-sweep-orphans": "media",
    }
    assert all(entry["options"]["expires"] > 0 for entry in schedule.values())
    for name in {entry["task"] for entry in schedule.values()} | {"matching.digest"}:
        task = app.tasks[name]  # a failing run is retried with backoff and jitter, boundedly
        assert task.autoretry_for == (Exception,) and task.retry_jitter, name
        assert task.retry_backoff and task.max_retries == 5 and task.acks_late, name
    send = app.tasks["deliveries.send"]  # its tries are counted on the row (services.send)
    assert send.acks_late and settings.CELERY_TASK_REJECT_ON_WORKER_LOST


def test_expired_codes_and_refresh_tokens_are_purged_and_live_ones_kept():
    user = UserFactory()
    code_issue(user=user, purpose=CodePurpose.LOGIN)
    old = code_issue(user=user, purpose=CodePurpose.PASSWORD_RESET)
    assert old
    OneTimeCode.objects.filter(purpose=CodePurpose.PASSWORD_RESET).update(
        expires_at=timezone.now() - timedelta(days=2)
    )
    tokens_issue(user=user)
    tokens_issue(user=user)
    expired = OutstandingToken.objects.order_by("created_at").first()
    BlacklistedToken.objects.create(token=expired)
    OutstandingToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert account_tasks.purge_codes.apply().get() == 1
    assert account_tasks.purge_tokens.apply().get() >= 1
    assert list(OneTimeCode.objects.values_list("purpose", flat=True)) == [CodePurpose.LOGIN]
    assert OutstandingToken.objects.count() == 1 and not BlacklistedToken.objects.exists()


class FlakyStorage(FileSystemStorage):
    """A storage that refuses deletes while `down` (an S3 endpoint away for a while)."""

    down = True

    def delete(self, name: str) -> None:
        if FlakyStorage.down:
            raise ConnectionError("storage endpoint unreachable")
        super().delete(name)


def test_files_storage_refused_to_delete_are_swept_later(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "deliveries.tests.test_schedules.FlakyStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    from django.core.files.storage import storages

    storages._storages.pop("default", None)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.webp").write_bytes(b"x")
    FlakyStorage.down = True
    try:
        assert media._remove(["photos/a.webp"]) == 0
        orphan = StorageOrphan.objects.get()
        assert orphan.key == "photos/a.webp" and orphan.attempts == 1
        assert "unreachable" in orphan.last_error
        assert media_tasks.sweep_orphans.apply().get() == 0  # still down
        FlakyStorage.down = False
        assert media_tasks.sweep_orphans.apply().get() == 1
    finally:
        FlakyStorage.down = True
        storages._storages.pop("default", None)
    assert not (tmp_path / "photos" / "a.webp").exists()
    assert not StorageOrphan.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_in_process_schedule_retries_a_failed_send_until_stopped(settings):
    from deliveries.tests.test_deliveries import Failing

    Failing.calls, Failing.fail_times = 0, 1  # the gateway fails once, then recovers
    settings.SMS_BACKEND = "deliveries.tests.test_deliveries.Failing"
    settings.DELIVERY_BACKOFF_BASE_SECONDS = 0.1
    saved = app.conf.beat_schedule
    app.conf.beat_schedule = {"sweep": {"task": "deliveries.sweep", "schedule": 0.2}}
    beat = InProcessBeat()
    try:
        beat.start()
        delivery = queue(
            channel="sms", to="+919847012345", template="t", label="Hi", key="beat:1", text="x"
        )
        delivery.refresh_from_db()
        assert delivery.status == Status.FAILED  # in-process there is no Celery retry
        deadline = time.monotonic() + 10
        while Failing.calls < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        beat.stop()
        app.conf.beat_schedule = saved
    delivery.refresh_from_db()
    assert delivery.status == Status.SENT and delivery.attempts == 2
    assert not beat._thread.is_alive()


def test_a_server_lifespan_starts_the_in_process_schedule_only_without_a_broker():
    class Spy(InProcessBeat):
        started = stopped = 0

        def start(self) -> None:
            Spy.started += 1

        def stop(self) -> None:
            Spy.stopped += 1

    async def run() -> list[str]:
        inbox = asyncio.Queue()
        for kind in ("lifespan.startup", "lifespan.shutdown"):
            inbox.put_nowait({"type": kind})
        sent: list[str] = []

        async def send(message):
            sent.append(message["type"])

        await lifespan(Spy())({"type": "lifespan"}, inbox.get, send)
        return sent

    eager = app.conf.task_always_eager
    try:
        app.conf.task_always_eager = True
        assert asyncio.run(run()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert (Spy.started, Spy.stopped) == (1, 1)
        app.conf.task_always_eager = False  # a broker: celery beat runs the schedule
        asyncio.run(run())
        assert (Spy.started, Spy.stopped) == (1, 2)
    finally:
        app.conf.task_always_eager = eager
