"""The facts moderation announces after the commit: a block removed, and a member held out
of sight by reports (the auto-flag)."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.signals import block_removed, member_flagged
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

REPORT = "/api/v1/moderation/report"


@pytest.fixture
def removed(heard: Any) -> list[dict[str, Any]]:
    return heard(block_removed)


@pytest.fixture
def flagged(heard: Any) -> list[dict[str, Any]]:
    return heard(member_flagged)


def test_an_unblock_is_announced_once_it_commits(
    client_for, django_capture_on_commit_callbacks, removed
):
    bride, groom = make_member(), make_groom()
    client = client_for(bride.user)
    blocked = client.post(
        "/api/v1/moderation/block", {"blocked_user_id": str(groom.pk)}, format="json"
    )
    assert blocked.status_code == 201, blocked.content

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/moderation/block/{groom.pk}").status_code == 204
        assert removed == []
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/moderation/block/{groom.pk}").status_code == 204

    assert removed == [{"blocker_id": bride.pk, "blocked_id": groom.pk}]  # once: then none left


def test_the_report_that_holds_a_member_is_announced(
    client_for, django_capture_on_commit_callbacks, flagged
):
    suspect = make_groom()
    reporters = [make_member() for _ in range(3)]
    heard_after = []

    for reporter in reporters:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(reporter.user).post(
                REPORT, {"reported_user": str(suspect.pk), "reason": "fake_profile"}, format="json"
            )
            assert response.status_code == 201, response.content
            assert flagged == heard_after  # nothing before the commit
        heard_after = list(flagged)

    assert flagged == [{"user_id": suspect.pk}]  # the third report, not the first two
