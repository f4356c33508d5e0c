"""The visibility rule in its two forms, one viewer's lists (`visible_profiles`) and many pairs
at once (`visible_pairs`, for chat and calls), agree on every kind of member."""

from __future__ import annotations

import itertools

import pytest

from accounts.models import User
from moderation.models import Block, Report, ReportStatus
from policy import visible_pairs, visible_profiles
from profiles.models import Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def test_both_forms_of_the_visibility_rule_agree_on_every_pair():
    brides = [make_member() for _ in range(6)]
    grooms = [make_groom() for _ in range(6)]
    everyone = [p.user for p in brides + grooms]
    Profile.objects.filter(pk=brides[0].pk).update(is_hidden=True)
    Profile.objects.filter(pk=brides[1].pk).update(verification_status="Pending")
    User.objects.filter(pk=brides[2].user_id).update(is_active=False)
    Block.objects.create(blocker=grooms[0].user, blocked=brides[3].user)
    Block.objects.create(blocker=brides[4].user, blocked=grooms[1].user)
    Report.objects.create(
        reporter=grooms[2].user,
        reported=grooms[3].user,
        reason="fake_profile",
        status=ReportStatus.PENDING,
        flagged=True,
    )
    Report.objects.create(  # reported, not held: still visible
        reporter=grooms[4].user,
        reported=brides[5].user,
        reason="fake_profile",
        status=ReportStatus.PENDING,
        flagged=False,
    )
    everyone = list(User.objects.filter(pk__in=[u.pk for u in everyone]))
    pairs = {(a.pk, b.pk) for a, b in itertools.permutations(everyone, 2)}

    batch = visible_pairs(pairs)

    one_by_one = {
        frozenset((a.pk, b.pk))
        for a, b in itertools.permutations(everyone, 2)
        if visible_profiles(viewer=a).filter(pk=b.pk).exists()
        and visible_profiles(viewer=b).filter(pk=a.pk).exists()
    }
    assert batch == one_by_one
    assert 0 < len(batch) < len({frozenset(pair) for pair in pairs})  # some kept apart, not all
    assert frozenset((grooms[4].user_id, brides[5].user_id)) in batch
    assert frozenset((grooms[0].user_id, brides[3].user_id)) not in batch
