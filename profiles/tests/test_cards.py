from __future__ import annotations

import pytest
from rest_framework.renderers import JSONRenderer

import policy
from media.tests.factories import make_photo
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
        make_photo(owner, is_primary=True, tiny_key=f"t/{owner.pk}", medium_key=f"m/{owner.pk}")
    Career.objects.filter(profile=without_career).delete()
    listed = policy.visible_profiles(viewer=viewer.user).order_by("pk")
    profiles = list(listed.select_related("user", "career", "education"))

    fast = cards_from_values(viewer.user, list(policy.card_values(listed)))
    slow = CardOut(profiles, many=True, context=card_context(viewer.user, profiles)).data

    assert fast == slow
    # byte for byte, in the order the schema gives (dicts compare equal in any order)
    assert JSONRenderer().render(fast) == JSONRenderer().render(slow)
    assert all(list(card) == list(CardOut().fields) for card in fast)
    by_id = {card["id"]: card for card in fast}
    assert by_id[str(with_photo.pk)]["photo"]["tiny_url"]
    assert by_id[str(private.pk)]["photo"] is None
    assert by_id[str(without_career.pk)]["occupation"] is None
    assert Profile.objects.count() == 4


def test_cards_of_instances_equal_cards_of_rows_without_a_list_context():
    """A card serialized alone (no `card_context`) asks its photo and last-seen setting itself,
    and still gives what the rows give, in the same order."""
    viewer = make_groom()
    owner = make_member(photo_visibility="accepted_interests")
    listed = policy.visible_profiles(viewer=viewer.user).filter(pk=owner.pk)

    (fast,) = cards_from_values(viewer.user, list(policy.card_values(listed)))
    alone = CardOut(Profile.objects.get(pk=owner.pk), context={"viewer": viewer.user}).data

    assert JSONRenderer().render(alone) == JSONRenderer().render(fast)
    assert fast["id"] == str(owner.pk) and fast["occupation"] is not None
