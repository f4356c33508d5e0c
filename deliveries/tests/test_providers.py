"""The real provider backends against local servers that answer as Exotel, FCM (with
Google's OAuth2) and an SMTP server do: what they send, and what each error makes of a row."""

from __future__ import annotations

import json

import pytest

from accounts.tests.factories import UserFactory
from deliveries import backends, services
from deliveries.models import Delivery, Status
from deliveries.tests.fakes import FakeExotel, FakeFcm
from notifications.models import DeviceToken

pytestmark = pytest.mark.django_db

DLT = {"code.login": "1107160000000000001", "notification": "1107160000000000002"}


@pytest.fixture
def exotel(settings):
    fake = FakeExotel()
    settings.SMS_BACKEND = "deliveries.backends.ExotelSms"
    settings.SMS_EXOTEL_URL, settings.SMS_EXOTEL_SID = fake.url, fake.sid
    settings.SMS_EXOTEL_API_KEY, settings.SMS_EXOTEL_API_TOKEN = fake.key, fake.token
    settings.SMS_SENDER_ID, settings.SMS_DLT_ENTITY_ID = "AURUMM", "1101160000000000009"
    settings.SMS_DLT_TEMPLATES = json.dumps(DLT)
    backends._load.cache_clear()
    yield fake
    backends._load.cache_clear()
    fake.stop()


@pytest.fixture
def fcm(settings):
    fake = FakeFcm()
    settings.PUSH_BACKEND = "deliveries.backends.FcmPush"
    settings.FCM_CREDENTIALS_JSON = json.dumps(fake.service_account)
    settings.FCM_ENDPOINT, settings.FCM_PROJECT_ID = fake.url, ""
    backends._load.cache_clear()
    yield fake
    backends._load.cache_clear()
    fake.stop()


def send_sms(to: str = "+919847012345", template: str = "code.login", key: str = "k") -> Delivery:
    delivery = services.queue(
        channel="sms", to=to, template=template, label="Login code", key=key, text="123456 is it"
    )
    services.send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_exotel_gets_the_dlt_ids_and_its_sid_is_kept(exotel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        sent = send_sms(key="code:1")
        notice = send_sms(template="notification.warning", key="n:1:sms")

    assert (sent.status, notice.status) == (Status.SENT, Status.SENT)
    first, second = exotel.received
    assert first["From"] == "AURUMM" and first["DltEntityId"] == "1101160000000000009"
    assert first["DltTemplateId"] == DLT["code.login"] and first["To"] == "+919847012345"
    assert second["DltTemplateId"] == DLT["notification"]  # by the template's first part
    assert first["Body"] == "123456 is it" and first["CustomField"] == "code:1"
    assert sent.provider_id == first["Sid"]


def test_exotel_refusals_give_up_and_outages_retry(
    exotel, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        bad_number = send_sms(to="+9112", key="a")
        exotel.fail_next(*FakeExotel.error(503, 0, "Service Unavailable"))
        outage = send_sms(key="b")
        settings.SMS_EXOTEL_API_TOKEN = "rotated-wrongly"
        backends._load.cache_clear()
        bad_credentials = send_sms(key="c")
        settings.SMS_DLT_TEMPLATES = "{}"
        backends._load.cache_clear()
        no_template = send_sms(key="d")

    assert bad_number.status == Status.GAVE_UP and "11002" in bad_number.last_error
    assert outage.status == Status.FAILED and "503" in outage.last_error
    assert bad_credentials.status == Status.FAILED and "401" in bad_credentials.last_error
    assert no_template.status == Status.GAVE_UP and "SMS_DLT_TEMPLATES" in no_template.last_error
    assert len(exotel.received) == 0


def push(user, token: str, key: str) -> Delivery:
    delivery = services.queue(
        channel="push", to=token, template="notification.interest_received", label="New interest",
        key=key, user=user, subject="New interest", text="Anjali is interested in you",
        data={"kind": "interest_received", "id": "42"},
    )  # fmt: skip
    services.send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_fcm_sends_v1_messages_with_a_service_account_token(
    fcm, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        first = push(user, "device-a", "n:1:push:a")
        second = push(user, "device-b", "n:1:push:b")

    assert (first.status, second.status) == (Status.SENT, Status.SENT)
    assert fcm.token_grants == 1  # one OAuth2 token, cached for both
    message = fcm.received[0]
    assert message["token"] == "device-a"
    assert message["notification"] == {
        "title": "New interest",
        "body": "Anjali is interested in you",
    }
    assert message["data"] == {"kind": "interest_received", "id": "42"}
    # A resend of the same delivery would carry the same tag and collapse id (not a second alert).
    tag = message["android"]["notification"]["tag"]
    assert tag == message["apns"]["headers"]["apns-collapse-id"] and len(tag) == 32
    assert tag != fcm.received[1]["android"]["notification"]["tag"]
    assert first.provider_id == message["name"]


def test_an_expired_fcm_token_is_renewed(fcm, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        push(user, "device-a", "a")
        fcm.tokens.clear()  # FCM no longer honours the cached token
        renewed = push(user, "device-a", "b")

    assert renewed.status == Status.SENT and fcm.token_grants == 2


def test_fcm_unregistered_removes_the_device_and_outages_retry(
    fcm, django_capture_on_commit_callbacks
):
    user = UserFactory()
    dead = DeviceToken.objects.create(user=user, token="gone", platform="android")
    DeviceToken.objects.create(user=user, token="alive", platform="ios")
    fcm.unregistered.add("gone")
    with django_capture_on_commit_callbacks(execute=False):
        unregistered = push(user, "gone", "a")
        fcm.fail_next(*FakeFcm.error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"))
        throttled = push(user, "alive", "b")
        fcm.fail_next(*FakeFcm.error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "bad APNs"))
        invalid = push(user, "alive", "c")

    assert unregistered.status == Status.GAVE_UP and "UNREGISTERED" in unregistered.last_error
    assert not DeviceToken.objects.filter(pk=dead.pk).exists()
    assert list(DeviceToken.objects.values_list("token", flat=True)) == ["alive"]
    assert throttled.status == Status.FAILED and "QUOTA_EXCEEDED" in throttled.last_error
    assert invalid.status == Status.GAVE_UP and "INVALID_ARGUMENT" in invalid.last_error
