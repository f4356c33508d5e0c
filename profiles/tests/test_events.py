"""The facts profiles announces: a write to a profile (`profile_changed`) and a change of
whether others may see it (`profile_listed_changed`), each after the commit, decided on the
locked row."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.factories import make_moderator
from profiles import services
from profiles.signals import profile_changed, profile_listed_changed
from profiles.tests.factories import make_member

pytestmark = pytest.mark.django_db

ME = "/api/v1/profiles/me"


@pytest.fixture
def listed(heard: Any) -> list[dict[str, Any]]:
    return heard(profile_listed_changed)


@pytest.fixture
def changed(heard: Any) -> list[dict[str, Any]]:
    return heard(profile_changed)


@pytest.mark.parametrize(
    "change",
    [{"is_hidden": True}, {"first_name": "Anju"}, {"date_of_birth": "1995-04-14"}],
    ids=["hidden", "name_back_to_verification", "birth_date_back_to_verification"],
)
def test_leaving_sight_is_announced_after_the_commit(
    client_for, django_capture_on_commit_callbacks, listed, changed, change
):
    bride = make_member()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bride.user).patch(ME, {"profile": change}, format="json")
        assert response.status_code == 200, response.content
        assert (listed, changed) == ([], [])  # nothing before the commit

    assert listed == [{"profile_id": bride.pk, "listed": False}]
    assert changed == [{"profile_id": bride.pk}]


def test_showing_again_is_announced(client_for, django_capture_on_commit_callbacks, listed):
    bride = make_member(is_hidden=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bride.user).patch(
            ME, {"profile": {"is_hidden": False}}, format="json"
        )
        assert response.status_code == 200, response.content

    assert listed == [{"profile_id": bride.pk, "listed": True}]


@pytest.mark.parametrize("approved", [True, False])
def test_a_decision_is_announced_and_only_approval_lists(
    django_capture_on_commit_callbacks, listed, changed, approved
):
    bride = make_member(approved=False)

    with django_capture_on_commit_callbacks(execute=True):
        services.verification_record(
            profile=bride, reviewer=make_moderator(), approved=approved, notes="Checked."
        )

    assert listed == ([{"profile_id": bride.pk, "listed": True}] if approved else [])
    assert changed == [{"profile_id": bride.pk}]


@pytest.mark.parametrize(
    "hidden, change",
    [(False, {"about": "A new line about me."}), (True, {"first_name": "Anju"})],
    ids=["harmless_edit", "hidden_member_back_to_verification"],
)
def test_a_write_that_keeps_who_sees_the_member_announces_only_the_change(
    client_for, django_capture_on_commit_callbacks, listed, changed, hidden, change
):
    bride = make_member(is_hidden=hidden)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bride.user).patch(ME, {"profile": change}, format="json")
        assert response.status_code == 200, response.content

    assert listed == []
    assert changed == [{"profile_id": bride.pk}]


def test_a_section_edit_is_announced(client_for, django_capture_on_commit_callbacks, changed):
    bride = make_member()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bride.user).patch(
            ME, {"preferences": {"age_min": 29, "age_max": 35}}, format="json"
        )
        assert response.status_code == 200, response.content

    assert changed == [{"profile_id": bride.pk}]


def test_a_refused_write_announces_nothing(
    client_for, django_capture_on_commit_callbacks, listed, changed
):
    bride = make_member()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bride.user).patch(
            ME, {"profile": {"is_hidden": True, "caste": "sunni"}}, format="json"
        )

    assert response.status_code == 400, response.content
    assert (listed, changed) == ([], [])
