from __future__ import annotations

import pytest

import policy
from media.models import Photo
from profiles.models import Career, Profile
from profiles.serializers import CardOut, card_context, cards_from_values
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def test_cards_from_values_equal_the_card_serializer():
    viewer = make_groom()
    with_photo, without_career, private = (
        make_member(),
        make_member(),
        make_member(photo_visibility="accepted_interests"),
    )
    for owner in (with_photo, private):
        Photo.objects.create(
            owner=owner.user,
            status="approved",
            is_primary=True,
            tiny_key=f"t/{owner.pk}",
            medium_key=f"m/{owner.pk}",
            full_key="f",
            width=9,
            height=9,
            bytes=9,
        )
    Career.objects.filter(profile=without_career).delete()
    listed = policy.visible_profiles(viewer=viewer.user).order_by("pk")
    profiles = list(listed.select_related("user", "career", "education"))

    fast = cards_from_values(viewer.user, list(policy.card_values(listed)))
    slow = CardOut(profiles, many=True, context=card_context(viewer.user, profiles)).data

    assert fast == slow
    by_id = {card["id"]: card for card in fast}
    assert by_id[str(with_photo.pk)]["photo"]["tiny_url"]
    assert by_id[str(private.pk)]["photo"] is None
    assert by_id[str(without_career.pk)]["occupation"] is None
    assert Profile.objects.count() == 4
