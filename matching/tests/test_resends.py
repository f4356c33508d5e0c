"""Re-sending an interest: the daily limit counts sends, not rows (a re-send reuses the pair's
row); after a decline its sender waits; a withdraw and re-send cycle notifies once a day."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aurum.errors import DomainError
from matching import services
from matching.models import Interest, InterestSend
from notifications.models import Notification
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

INTERESTS = "/api/v1/matching/interests"


def send(client, to):
    return client.post(INTERESTS, {"to_profile": str(to.user_id)}, format="json")


def received(bride) -> int:
    return Notification.objects.filter(recipient=bride.user, kind="interest_received").count()


def test_send_withdraw_send_counts_every_send_toward_the_daily_limit(client_for, settings):
    settings.MATCHING_INTERESTS_PER_DAY = 3
    groom, bride = make_groom(), make_member()
    client = client_for(groom.user)

    answers = []
    for _ in range(4):
        response = send(client, bride)
        answers.append(response.status_code)
        if response.status_code == 201:
            client.post(f"{INTERESTS}/{response.json()['id']}/withdraw")

    assert answers == [201, 201, 201, 429]
    assert response.json()["code"] == "daily_limit"
    assert Interest.objects.get().status == "withdrawn"
    assert InterestSend.objects.filter(sender=groom.user).count() == 3


def test_the_daily_limit_says_when_a_send_frees_up(client_for, settings):
    settings.MATCHING_INTERESTS_PER_DAY = 2
    groom = make_groom()
    client = client_for(groom.user)
    send(client, make_member())
    send(client, make_member())
    oldest = InterestSend.objects.order_by("created_at").first()
    InterestSend.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - timedelta(hours=20)
    )

    refused = send(client, make_member())
    InterestSend.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    later = send(client, make_member())

    assert refused.status_code == 429
    assert 4 * 3600 - 60 <= int(refused["Retry-After"]) <= 4 * 3600
    assert later.status_code == 201


def test_answering_an_interest_by_sending_back_is_not_held_by_the_limit(client_for, settings):
    settings.MATCHING_INTERESTS_PER_DAY = 1
    groom, wanted, suitor = make_groom(), make_member(), make_member()
    client = client_for(groom.user)
    send(client, wanted)
    services.interest_send(sender=suitor.user, receiver=groom.user)

    back = send(client, suitor)

    assert back.status_code == 201 and back.json()["status"] == "accepted"


def test_a_withdraw_and_resend_cycle_notifies_at_most_once_a_day(client_for):
    groom, bride = make_groom(), make_member()
    client = client_for(groom.user)

    statuses = []
    for _ in range(5):
        response = send(client, bride)
        statuses.append(response.json()["status"])
        client.post(f"{INTERESTS}/{response.json()['id']}/withdraw")
    quiet = received(bride)
    InterestSend.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    send(client, bride)

    assert statuses == ["pending"] * 5  # every re-send works
    assert quiet == 1
    assert received(bride) == 2  # a day on, she hears of it again
    assert InterestSend.objects.filter(notified=True).count() == 2


def test_another_suitor_is_not_quietened_by_the_first(client_for):
    bride, first, second = make_member(), make_groom(), make_groom()

    send(client_for(first.user), bride)
    send(client_for(second.user), bride)

    assert received(bride) == 2


def test_after_a_decline_its_sender_waits(client_for):
    groom, bride = make_groom(), make_member()
    client = client_for(groom.user)
    interest_id = send(client, bride).json()["id"]
    client_for(bride.user).post(f"{INTERESTS}/{interest_id}/decline")

    again = send(client, bride)

    assert again.status_code == 409
    assert again.json()["code"] == "recently_declined"
    days = int(again["Retry-After"]) / 86400
    assert 29.99 < days <= 30
    assert Interest.objects.get().status == "declined"
    assert received(bride) == 1 and InterestSend.objects.count() == 1


def test_once_the_wait_is_over_the_sender_may_send_again(client_for, settings):
    settings.MATCHING_RESEND_AFTER_DECLINE_DAYS = 10
    groom, bride = make_groom(), make_member()
    client = client_for(groom.user)
    interest_id = send(client, bride).json()["id"]
    client_for(bride.user).post(f"{INTERESTS}/{interest_id}/decline")
    Interest.objects.update(decided_at=timezone.now() - timedelta(days=9, hours=23))
    early = send(client, bride)
    Interest.objects.update(decided_at=timezone.now() - timedelta(days=10, minutes=1))

    late = send(client, bride)

    assert early.status_code == 409
    assert late.status_code == 201 and late.json()["status"] == "pending"


def test_the_member_who_declined_may_change_her_mind_at_once(client_for):
    groom, bride = make_groom(), make_member()
    interest_id = send(client_for(groom.user), bride).json()["id"]
    client_for(bride.user).post(f"{INTERESTS}/{interest_id}/decline")

    hers = send(client_for(bride.user), groom)

    assert hers.status_code == 201 and hers.json()["from_profile"] == str(bride.user_id)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sends_at_once_do_not_pass_the_limit(settings):
    settings.MATCHING_INTERESTS_PER_DAY = 2
    groom = make_groom()
    brides = [make_member() for _ in range(6)]
    barrier = threading.Barrier(len(brides))
    codes: list[str] = []

    def go(bride) -> None:
        barrier.wait()
        try:
            services.interest_send(sender=groom.user, receiver=bride.user)
            codes.append("sent")
        except DomainError as exc:  # the refusals are counted below
            codes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(bride,)) for bride in brides]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(codes) == ["daily_limit"] * 4 + ["sent"] * 2
    assert Interest.objects.count() == InterestSend.objects.count() == 2
