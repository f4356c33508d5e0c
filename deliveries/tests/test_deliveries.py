"""Deliveries: written with their cause, sent once per key, retried, swept, given up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from deliveries import services, tasks
from deliveries.backends import Memory, Message, Rejected
from deliveries.models import Delivery, Status
from notifications.models import DeviceToken

pytestmark = pytest.mark.django_db


def sms(key: str = "k1", **extra):
    return services.queue(
        channel="sms", to="+919847012345", template="code.login", label="Login code", key=key,
        text="123456 is your Aurum code", **extra,
    )  # fmt: skip


class Failing:
    """A provider that fails the way a down gateway does, then (optionally) recovers."""

    calls = 0
    fail_times = 10**6

    def send(self, message: Message) -> str:
        Failing.calls += 1
        if Failing.calls <= Failing.fail_times:
            raise ConnectionError("gateway timed out")
        return "gw-1"


class Refusing:
    def send(self, message: Message) -> str:
        raise Rejected("UNREGISTERED", unreachable=True)


@pytest.fixture
def failing(settings):
    Failing.calls, Failing.fail_times = 0, 10**6
    settings.SMS_BACKEND = "deliveries.tests.test_deliveries.Failing"
    return Failing


def test_a_delivery_is_sent_after_commit_and_its_text_leaves_the_row(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delivery = sms()
        stored = Delivery.objects.get(pk=delivery.pk)
        assert "123456" not in stored.payload and stored.payload  # sealed at rest
        assert Memory.outbox == []  # nothing goes before the commit

    assert len(callbacks) == 1
    assert [(m["to"], m["text"]) for m in Memory.outbox] == [
        ("+919847012345", "123456 is your Aurum code")
    ]
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.payload) == (Status.SENT, 1, "")
    assert stored.provider_id == "memory-1" and stored.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_cause_leaves_no_delivery_and_sends_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        sms()
        raise RuntimeError("the request failed after queueing")

    assert not Delivery.objects.exists() and Memory.outbox == []


def test_one_key_is_sent_once_even_when_queued_or_run_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = sms(key="code:1")
        assert sms(key="code:1") is None  # the same cause again: nothing new

    assert tasks.send.apply(args=[str(first.pk)]).get() == "skipped"  # a redelivered task
    assert len(Memory.outbox) == 1 and Delivery.objects.count() == 1


def test_a_row_held_by_another_sender_is_left_until_its_lease_runs_out(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        delivery = sms()
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=30)
    )

    assert services.send(delivery_id=delivery.pk).status == "skipped"
    assert Memory.outbox == []
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)  # its sender was killed
    )
    assert services.send(delivery_id=delivery.pk).status == Status.SENT
    assert len(Memory.outbox) == 1


def test_a_failing_provider_is_retried_with_backoff_then_given_up(
    failing, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=True):
        delivery = sms()

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED and delivery.attempts == 1
    assert delivery.last_error == "ConnectionError: gateway timed out"
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 2 < wait <= 5  # base 5 s, from its upper half
    for attempt in (2, 3):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        services.send(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
    assert delivery.status == Status.GAVE_UP and failing.calls == 3
    assert services.send(delivery_id=delivery.pk).status == "skipped"  # given up is final


def test_backoff_doubles_up_to_its_ceiling_with_jitter(settings):
    settings.DELIVERY_BACKOFF_BASE_SECONDS, settings.DELIVERY_BACKOFF_MAX_SECONDS = 5, 600
    waits = {n: [services.backoff(n) for _ in range(200)] for n in (1, 2, 3, 10)}

    assert all(2.5 <= w <= 5 for w in waits[1]) and all(5 <= w <= 10 for w in waits[2])
    assert all(10 <= w <= 20 for w in waits[3]) and all(300 <= w <= 600 for w in waits[10])
    assert len(set(waits[3])) > 150  # jittered, not one instant for every retry


def test_the_sweeper_sends_what_never_reached_the_queue(
    failing, settings, django_capture_on_commit_callbacks
):
    failing.fail_times = 0  # the provider works; the broker lost the task
    with django_capture_on_commit_callbacks(execute=False):  # committed, never queued
        delivery = sms()

    assert services.sweep() == 0  # not due yet: its own task may still be on its way
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT and failing.calls == 1
    assert services.sweep() == 0


def test_a_code_that_expired_unsent_is_given_up_not_sent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        delivery = sms(expires_at=timezone.now() - timedelta(seconds=1))

    assert services.send(delivery_id=delivery.pk).status == Status.GAVE_UP
    delivery.refresh_from_db()
    assert delivery.last_error == "expired before it could be sent" and delivery.payload == ""
    assert Memory.outbox == []


def test_an_unregistered_push_token_gives_up_and_the_device_is_forgotten(
    settings, django_capture_on_commit_callbacks
):
    settings.PUSH_BACKEND = "deliveries.tests.test_deliveries.Refusing"
    user = UserFactory()
    device = DeviceToken.objects.create(user=user, token="dead-token", platform="android")
    kept = DeviceToken.objects.create(user=UserFactory(), token="live-token", platform="ios")

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.queue(
            channel="push", to="dead-token", template="notification.warning", label="Hi",
            key="n:1:push", user=user, subject="Hi",
        )  # fmt: skip

    delivery.refresh_from_db()
    assert delivery.status == Status.GAVE_UP and "UNREGISTERED" in delivery.last_error
    assert not DeviceToken.objects.filter(pk=device.pk).exists()
    assert DeviceToken.objects.filter(pk=kept.pk).exists()


def test_staff_retry_sends_a_failed_delivery_again(failing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = sms()
    delivery.refresh_from_db()
    Delivery.objects.filter(pk=delivery.pk).update(status=Status.GAVE_UP)
    delivery.refresh_from_db()
    failing.fail_times = 1  # the outage is over

    with django_capture_on_commit_callbacks(execute=True):
        services.retry(delivery=delivery)

    delivery.refresh_from_db()
    assert delivery.status == Status.SENT and delivery.provider_id == "gw-1"


def test_retry_refuses_what_cannot_or_need_not_go_again(django_capture_on_commit_callbacks):
    from aurum.errors import Conflict

    with django_capture_on_commit_callbacks(execute=True):
        sent = sms(key="a")
    sent.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        stale = sms(key="b", expires_at=timezone.now() - timedelta(seconds=1))
    Delivery.objects.filter(pk=stale.pk).update(status=Status.FAILED)
    stale.refresh_from_db()

    with pytest.raises(Conflict) as not_failed:
        services.retry(delivery=sent)
    with pytest.raises(Conflict) as expired:
        services.retry(delivery=stale)
    assert (not_failed.value.code, expired.value.code) == ("not_failed", "expired")


def test_a_message_sealed_under_another_key_gives_up_instead_of_looping(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        delivery = sms()
    settings.SECRET_KEY = "another-installation-key-" * 3  # rotated meanwhile

    assert services.send(delivery_id=delivery.pk).status == Status.GAVE_UP
    delivery.refresh_from_db()
    assert "another SECRET_KEY" in delivery.last_error and Memory.outbox == []


def test_a_row_swept_again_waits_as_long_as_it_has_waited(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # never reaches a worker
        delivery = sms()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=an_hour_ago, next_attempt_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=False):
        assert services.sweep() == 1
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 3500 < wait <= 3600  # not every 30 s while a long queue drains


def test_a_code_replaced_before_it_went_is_not_sent(django_capture_on_commit_callbacks):
    from accounts.models import CodePurpose
    from accounts.services import code_issue

    user = UserFactory(phone="+919847012345")
    with django_capture_on_commit_callbacks(execute=False):  # the broker was slow
        code_issue(user=user, purpose=CodePurpose.LOGIN, channel="sms")
        code_issue(user=user, purpose=CodePurpose.LOGIN, channel="sms")

    first, second = Delivery.objects.order_by("created_at")
    assert (first.status, first.payload) == (Status.GAVE_UP, "")
    assert first.last_error == "a newer code replaced it" and second.status == Status.PENDING


def test_what_an_erased_notification_would_have_said_is_not_sent(
    django_capture_on_commit_callbacks,
):
    from notifications.services import notifications_forget, notify

    member = UserFactory(email="anjali@example.com")
    with django_capture_on_commit_callbacks(execute=False):
        notify(
            recipient=member, kind="interest_received", title="Arjun is interested in you",
            data={"interest": "i-1"},
        )  # fmt: skip
    pending = Delivery.objects.get(user=member)
    assert pending.label == "New interest"  # what it is, never who: titles name members

    notifications_forget(key="interest", values=["i-1"])  # Arjun deleted his account
    pending.refresh_from_db()
    assert pending.status == Status.GAVE_UP and pending.payload == ""


def test_the_sweeper_queues_codes_before_other_deliveries(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notice = services.queue(
            channel="sms", to="+919847012345", template="notification.warning", label="Warning",
            key="n:1:sms", text="Be kind",
        )  # fmt: skip
        code = sms(key="code:9", urgent=True)
    Delivery.objects.filter(pk=notice.pk).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    Delivery.objects.filter(pk=code.pk).update(next_attempt_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep(limit=1) == 1  # one slot: the code takes it, though due later

    assert [m["text"] for m in Memory.outbox] == ["123456 is your Aurum code"]
