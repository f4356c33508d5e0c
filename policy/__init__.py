"""Aurum's rules about who may see what, composed from the apps' facts.

The apps below hold facts (their models and selectors): profiles the profile row and its
privacy settings, moderation blocks and review holds, matching accepted interests, chat the
"show last seen" switch, media the photo rows, accounts the account. The rules that combine
them live here, each written once; behaviour (services, search, feed) and interface (views,
serializers, admin) ask them. No fact module imports this package (pyproject's contracts).
New rules (trust levels, entitlements, horoscope privacy) belong here too.
"""

from policy.cards import (
    card_values,
    completion,
    gallery_for,
    hides_last_seen,
    last_seen_hidden_among,
    own_photo,
    photo_for,
    photos_for,
    photos_for_cards,
    photos_from_rows,
    profile_for_viewer,
    profile_seen,
    with_photo,
)
from policy.contact import can_see_contact, can_see_photos, photos_open_to
from policy.visibility import (
    can_act,
    can_see,
    listed_among,
    listed_members,
    visible_pairs,
    visible_profiles,
)

__all__ = [
    "can_act",
    "can_see",
    "can_see_contact",
    "can_see_photos",
    "card_values",
    "completion",
    "gallery_for",
    "hides_last_seen",
    "last_seen_hidden_among",
    "listed_among",
    "listed_members",
    "own_photo",
    "photo_for",
    "photos_for",
    "photos_for_cards",
    "photos_from_rows",
    "photos_open_to",
    "profile_for_viewer",
    "profile_seen",
    "visible_pairs",
    "visible_profiles",
    "with_photo",
]
