from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from policy import completion
from profiles import services
from profiles.choices import caste_belongs_to
from profiles.demo import seed_phone
from profiles.models import PartnerPreferences, Profile
from profiles.selectors import age_on

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_demo_makes_staff_named_and_generated_members():
    output = seed("--profiles", "60", "--seed", "3")

    assert User.objects.get(email="moderator@aurum.test").role == "moderator"
    assert Profile.objects.get(user__email="anjali@aurum.test").gender == "female"
    generated = Profile.objects.filter(user__phone__startswith=seed_phone(3, 0)[:6])
    assert generated.count() == 60
    assert PartnerPreferences.objects.filter(profile__in=generated).count() == 60
    assert "Demo login: anjali@aurum.test" in output


def test_generated_members_are_plausible_and_pass_the_rules():
    seed("--profiles", "80", "--seed", "5")

    for profile in Profile.objects.select_related("user", "preferences"):
        assert profile.user.admin_approved and profile.verification_status == "Approved"
        assert caste_belongs_to(profile.caste, profile.religion)
        assert (
            services._profile_rule_errors(
                {f: getattr(profile, f) for f in ("religion", "caste", "date_of_birth", "gender")}
            )
            == {}
        )
        assert 140 <= profile.height_cm <= 200
        assert profile.preferences.age_min <= profile.preferences.age_max
        assert completion(profile=profile)["score"] == 90
        assert 18 <= age_on(profile.date_of_birth) <= 45


def test_seed_demo_is_deterministic_and_idempotent():
    seed("--profiles", "30", "--seed", "9")
    first = list(
        Profile.objects.filter(user__phone__startswith="+91709")
        .order_by("user__phone")
        .values_list("user__first_name", "religion", "caste", "date_of_birth", "user__profile_code")
    )

    again = seed("--profiles", "30", "--seed", "9")
    assert "0 generated members created" in again

    User.objects.filter(phone__startswith="+91709").delete()
    seed("--profiles", "30", "--seed", "9")
    second = list(
        Profile.objects.filter(user__phone__startswith="+91709")
        .order_by("user__phone")
        .values_list("user__first_name", "religion", "caste", "date_of_birth", "user__profile_code")
    )
    assert first == second


def test_seeded_member_can_log_in(api):
    seed("--profiles", "3", "--seed", "4")

    response = api.post(
        "/api/v1/auth/login",
        {"identifier": seed_phone(4, 1), "password": "kerala-demo-2026"},
        format="json",
    )

    assert response.status_code == 200, response.content


def test_seed_demo_refuses_prod(settings):
    settings.PROD = True

    with pytest.raises(CommandError):
        seed()


def test_a_named_demo_members_profile_is_announced_as_changed(
    heard, django_capture_on_commit_callbacks
):
    """The demo gives a named account a new profile, which may replace one a feed cached:
    it says so as the services do, once the rows are committed."""
    from accounts.tests.factories import UserFactory
    from profiles.demo import give_profile
    from profiles.signals import profile_changed

    changed = heard(profile_changed)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        profile = give_profile(user, gender="female")
        assert changed == []  # not before the commit
    assert changed == [{"profile_id": profile.pk}]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seeding_leaves_the_tables_vacuumed_and_analyzed_on_postgresql():
    """PostgreSQL here runs without autovacuum: unanalysed, the feed's plan was a sequential
    scan. Outside a transaction the seed VACUUMs too (inside one, as in the tests above, it
    can only ANALYZE)."""
    from django.db import connection

    seed("--profiles", "20", "--seed", "4")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname IN"
            " ('profiles_profile', 'profiles_partnerpreferences', 'accounts_user')"
            " AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
        )
        done = {row[0] for row in cursor.fetchall()}
    assert done == {"profiles_profile", "profiles_partnerpreferences", "accounts_user"}
