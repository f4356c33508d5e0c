"""Digests: who is due and when, what one names (the feed's rule and score), at most one per
period, nothing in quiet hours, and never someone the member can no longer see."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from matching import digests, services
from matching.models import Digest
from moderation import services as moderation
from notifications.models import DeviceToken, Notification, Preferences
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")


def at(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=IST)


def approved_since(profile: Profile, hours: float) -> None:
    Profile.objects.filter(pk=profile.pk).update(
        reviewed_at=timezone.now() - timedelta(hours=hours)
    )


def awake(profile: Profile, **prefs) -> None:
    """Quiet hours away from the real time now, for tests that send a digest now."""
    now_here = timezone.now().astimezone(IST)
    Preferences.objects.update_or_create(
        user=profile.user,
        defaults={
            "quiet_from": (now_here + timedelta(hours=2)).time(),
            "quiet_until": (now_here + timedelta(hours=3)).time(),
            **prefs,
        },
    )


def due_at(moment: datetime) -> set[tuple[str, str, str, str]]:
    return {(str(u), k, f, p) for u, k, f, p in digests.due_members(now=moment)}


def test_who_is_due_follows_frequency_quiet_hours_and_the_period():
    daily = make_member()
    weekly = make_groom()
    Preferences.objects.create(user=weekly.user, digest_matches="weekly", digest_interests="never")
    night_owl = make_groom()
    Preferences.objects.create(user=night_owl.user, quiet_from=time(1, 0), quiet_until=time(3, 0))
    never = make_groom()
    Preferences.objects.create(user=never.user, digest_matches="never", digest_interests="never")
    unlisted = make_member(approved=False)

    # 22:00-08:00 is quiet by default; the night owl's quiet hours are 01:00-03:00.
    assert due_at(at(23, 30)) == {
        (str(night_owl.pk), "matches", "daily", "2026-12-03"),
        (str(night_owl.pk), "interests", "daily", "2026-12-03"),
    }
    assert {member for member, *_ in due_at(at(2, 0, day=4))} == {str(daily.pk), str(weekly.pk)} - {
        str(daily.pk),
        str(weekly.pk),
    }  # 02:00: everyone asleep
    evening = due_at(at(19))
    assert evening == {
        (str(daily.pk), "matches", "daily", "2026-12-03"),
        (str(daily.pk), "interests", "daily", "2026-12-03"),
        (str(night_owl.pk), "matches", "daily", "2026-12-03"),
        (str(night_owl.pk), "interests", "daily", "2026-12-03"),
        (str(weekly.pk), "matches", "weekly", "2026-W49"),
    }
    assert str(unlisted.pk) not in {member for member, *_ in evening}
    Digest.objects.create(user=daily.user, kind="matches", period="2026-12-03")
    assert (str(daily.pk), "matches", "daily", "2026-12-03") not in due_at(at(19, 15))
    assert (str(daily.pk), "matches", "daily", "2026-12-04") in due_at(at(19, day=4))


def test_a_digest_due_when_queued_waits_if_quiet_hours_began_before_it_ran():
    bride = make_member()
    now_here = timezone.now().astimezone(IST)
    Preferences.objects.create(
        user=bride.user,
        quiet_from=(now_here - timedelta(hours=1)).time(),
        quiet_until=(now_here + timedelta(hours=1)).time(),
    )

    assert digests.send(user_id=bride.pk, kind="matches", frequency="daily", period="d1") == (
        "quiet"
    )
    assert not Digest.objects.exists()


def test_a_digest_names_the_best_new_two_way_matches_once_per_period(settings):
    settings.MATCHING_DIGEST_MIN_SCORE = 0
    bride = make_member()
    awake(bride)
    from profiles.models import PartnerPreferences

    PartnerPreferences.objects.filter(profile=bride).update(religions=["hindu"])
    old, new_best, new_other = make_groom(), make_groom(), make_groom(religion="christian")
    approved_since(old, 48)
    approved_since(new_best, 2)
    approved_since(new_other, 3)

    assert digests.send(user_id=bride.pk, kind="matches", frequency="daily", period="d1") == "sent"
    note = Notification.objects.get(recipient=bride.user, kind="digest_matches")
    named = note.data["profiles"]
    assert str(old.pk) not in named and set(named) == {str(new_best.pk), str(new_other.pk)}
    assert named[0] == str(new_best.pk)  # the feed's score orders it
    assert note.title == "2 new matches for you" and new_best.user.first_name in note.body
    assert digests.send(user_id=bride.pk, kind="matches", frequency="daily", period="d1") == (
        "already_sent"
    )
    assert Notification.objects.filter(kind="digest_matches").count() == 1
    assert Digest.objects.get(user=bride.user, period="d1").named.split() == named


def test_the_digest_goes_by_email_and_push_never_sms(outbox):
    bride, groom = make_member(), make_groom()
    awake(bride, sms=True)
    DeviceToken.objects.create(user=bride.user, token="bride-phone", platform="android")
    services.interest_send(sender=groom.user, receiver=bride.user)
    before = len(outbox)  # the interest's own notification (by SMS too: she chose it)
    Notification.objects.all().delete()

    assert digests.send(user_id=bride.pk, kind="interests", frequency="daily", period="d1") == (
        "sent"
    )

    note = Notification.objects.get(kind="digest_interests")
    assert note.title == "1 interest waiting for your answer"
    assert groom.user.first_name in note.body
    sent = sorted((m["channel"], m["to"]) for m in list(outbox)[before:])
    assert sent == [("email", bride.user.email), ("push", "bride-phone")]  # never SMS


def test_a_digest_never_names_someone_the_member_can_no_longer_see(settings):
    settings.MATCHING_DIGEST_MIN_SCORE = 0
    bride = make_member()
    awake(bride)
    seen, blocked = make_groom(), make_groom()
    for groom in (seen, blocked):
        approved_since(groom, 1)
        services.interest_send(sender=groom.user, receiver=bride.user)
    moderation.block_create(blocker=bride.user, blocked=blocked.user)

    digests.send(user_id=bride.pk, kind="interests", frequency="daily", period="d1")
    note = Notification.objects.get(kind="digest_interests")
    assert note.title == "1 interest waiting for your answer" and len(note.data["interests"]) == 1
    assert Digest.objects.get(kind="interests").named.split() == [str(seen.pk)]


def test_an_immediate_slot_with_nothing_new_leaves_no_row_and_sends_nothing():
    bride = make_member()
    awake(bride, digest_matches="immediate")

    assert digests.send(user_id=bride.pk, kind="matches", frequency="immediate", period="i1") == (
        "nothing_new"
    )
    assert not Digest.objects.exists() and not Notification.objects.exists()


def test_digest_rows_older_than_any_open_period_are_purged():
    bride = make_member()
    old = Digest.objects.create(user=bride.user, kind="matches", period="2026-09-01")
    Digest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=61))
    kept = Digest.objects.create(user=bride.user, kind="matches", period="2026-W49")

    from matching.tasks import purge_digests

    assert purge_digests.apply().get() == 1
    assert list(Digest.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_member_who_deletes_their_account_is_named_in_no_digest_left(settings):
    from accounts.privacy import member_erase

    settings.MATCHING_DIGEST_MIN_SCORE = 0
    bride, groom = make_member(), make_groom()
    awake(bride)
    approved_since(groom, 1)
    assert digests.send(user_id=bride.pk, kind="matches", frequency="daily", period="d1") == "sent"
    assert Notification.objects.filter(recipient=bride.user, kind="digest_matches").exists()

    member_erase(groom.user)

    assert not Notification.objects.filter(recipient=bride.user, kind="digest_matches").exists()
    assert Digest.objects.filter(user=bride.user).count() == 1  # her own row stays
