"""Deliveries through the real queue: a Celery worker process where PostgreSQL and Redis run
(in-process on the embedded default), real SMTP to a local aiosmtpd server, and a worker
killed mid-send."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from accounts.tests.factories import UserFactory
from deliveries import services
from deliveries.backends import Memory
from deliveries.models import Delivery, Status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def eventually(check: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def texts_to(worker: Any, phone: str) -> list[str]:
    if worker is None:  # in-process: the test's own memory backend
        return [m["text"] for m in Memory.outbox if m["to"] == phone]
    files = (
        sorted(worker.sms_dir.glob(f"*-{phone.lstrip('+')}.txt")) if worker.sms_dir.exists() else []
    )
    return [f.read_text() for f in files]


def test_a_login_code_goes_through_the_queue_and_signs_in(api, worker):
    user = UserFactory(phone="+919847012345")

    assert (
        api.post("/api/v1/auth/otp/send", {"phone": user.phone}, format="json").status_code == 202
    )
    text = eventually(lambda: texts_to(worker, user.phone))[-1]
    code = re.search(r"\b(\d{6})\b", text).group(1)

    login = api.post("/api/v1/auth/otp/verify", {"phone": user.phone, "code": code}, format="json")
    assert login.status_code == 200, login.content
    delivery = Delivery.objects.get(user=user)
    assert delivery.status == Status.SENT and delivery.payload == "" and delivery.urgent


def test_a_notification_email_reaches_a_real_smtp_server(smtp, worker):
    from notifications.services import notify

    user = UserFactory(email="anjali@example.com")
    notify(recipient=user, kind="warning", title="Please keep it respectful")

    received = eventually(lambda: smtp.received)
    delivery = eventually(
        lambda: Delivery.objects.filter(user=user, channel="email", status=Status.SENT).first()
    )
    assert [r["to"] for r in received] == ["anjali@example.com"]
    assert received[0]["subject"] == "Aurum: Please keep it respectful"
    assert received[0]["message_id"] == delivery.provider_id  # the key's Message-ID


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(smtp, worker):
    smtp.hold.clear()  # the first message will stop at the SMTP server, mid-send
    with transaction.atomic():
        rows = [
            services.queue(
                channel="email", to=f"member{n}@example.com", template="notification.warning",
                label="Heads-up", key=f"chaos:{n}", subject=f"Heads-up {n}", text="Hello",
            )
            for n in range(5)
        ]  # fmt: skip
    assert smtp.waiting.wait(20), "the worker never reached the SMTP server"
    held = Delivery.objects.get(attempts=1, status=Status.PENDING)  # claimed, not yet sent

    worker.kill()
    smtp.hold.set()
    worker.start()
    eventually(lambda: Delivery.objects.filter(status=Status.SENT).count() == 4)
    # The killed sender's lease (2 s here) runs out; then the sweep (beat's) queues it again.
    eventually(lambda: services.sweep() == 1, seconds=10)
    eventually(lambda: Delivery.objects.filter(status=Status.SENT).count() == 5)

    ids = Counter(r["message_id"] for r in smtp.received)
    assert sorted(r["to"] for r in smtp.received) == sorted(r.address for r in rows)
    assert max(ids.values()) == 1 and len(ids) == 5
    held.refresh_from_db()
    assert held.attempts == 2 and held.status == Status.SENT
    assert not Delivery.objects.exclude(status=Status.SENT).exists()


@pytest.mark.postgres
@pytest.mark.redis
def test_celery_beat_queues_the_sweeper_and_the_worker_sends_what_was_lost(smtp, worker, tmp_path):
    import subprocess
    import sys

    import redis

    worker.stop()
    with transaction.atomic():
        lost = services.queue(
            channel="email", to="lost@example.com", template="notification.warning",
            label="Heads-up", key="lost:1", subject="Lost", text="Hello",
        )  # fmt: skip
    redis.Redis.from_url(worker.env["CELERY_BROKER_URL"]).flushdb()  # Redis lost its queue
    worker.start()
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aurum", "beat", "--loglevel=INFO",
         f"--schedule={tmp_path / 'beat-schedule'}"],
        env={**worker.env, "DELIVERY_SWEEP_EVERY_SECONDS": "0.5"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        eventually(lambda: Delivery.objects.filter(pk=lost.pk, status=Status.SENT).exists())
    finally:
        beat.terminate()
        beat.wait(timeout=20)
    assert [r["to"] for r in smtp.received].count("lost@example.com") == 1
