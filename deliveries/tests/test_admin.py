"""The deliveries console: what support sees (never a message's text), and the retry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory, make_admin, make_moderator
from deliveries import services
from deliveries.backends import Memory
from deliveries.models import Delivery, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(django_capture_on_commit_callbacks):
    member = UserFactory(first_name="Anjali", last_name="Nair", phone="+919847012345")
    with django_capture_on_commit_callbacks(execute=False):
        delivery = services.queue(
            channel="sms", to=member.phone, template="code.login", label="Login code",
            key="code:1", user=member, text="482913 is your Aurum code",
        )  # fmt: skip
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.GAVE_UP, attempts=8, last_error="ConnectionError: gateway timed out"
    )
    return delivery


def test_the_list_names_the_member_masks_the_address_and_never_shows_the_text(client, failed):
    client.force_login(make_moderator())
    page = client.get(reverse("admin:deliveries_delivery_changelist")).content.decode()
    detail = client.get(
        reverse("admin:deliveries_delivery_change", args=[failed.pk])
    ).content.decode()

    assert "Login code" in page and "Anjali Nair" in page and "gateway timed out" in page
    assert "+91••••••45" in page and "+919847012345" not in page
    assert "482913" not in page and "482913" not in detail
    assert "Retry the selected" not in page  # moderators read; admins retry


def test_an_admin_retries_a_failed_delivery_and_it_goes(
    client, failed, django_capture_on_commit_callbacks
):
    client.force_login(make_admin())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:deliveries_delivery_changelist"),
            {"action": "retry", "_selected_action": [str(failed.pk)]},
            follow=True,
        )

    assert "1 delivery(ies) queued again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == Status.SENT and failed.attempts == 1
    assert [m["text"] for m in Memory.outbox] == ["482913 is your Aurum code"]


def test_a_moderator_cannot_retry_by_posting_the_action(client, failed):
    client.force_login(make_moderator())
    client.post(
        reverse("admin:deliveries_delivery_changelist"),
        {"action": "retry", "_selected_action": [str(failed.pk)]},
    )

    failed.refresh_from_db()
    assert failed.status == Status.GAVE_UP and Memory.outbox == []
