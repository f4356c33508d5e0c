"""The feed: recommendations, best two-way match first, cached per member.

Hard filters first (the visibility rule, the gender sought, my age range, not ignored, no
interest between us), then the `match_score` (matching/scoring.py), then recency. Ranked over
every candidate, exactly; `feed_rows_page` says how a page is found without scoring a million.

Pages are cached (`MATCHING_FEED_TTL` seconds) under two versions: the member's own, changed
when their profile, preferences, blocks, ignores or interests change, and a global one,
changed when any member stops being visible (hidden, suspended, unapproved, held after
reports), so a cached page never shows someone the rules now hide.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

import policy
from accounts.models import User
from aurum.pagination import Keyset, KeysetPage
from aurum.statements import Statements
from matching import scoring
from matching.models import Interest
from matching.search import OPPOSITE, candidates, profile_incomplete
from profiles import selectors as profile_selectors

if TYPE_CHECKING:
    from profiles.models import Profile

FEED_KEYSET = Keyset(
    ("-match_score", "-last_active_at", "-user_id"), ("int", "moment", "uuid"), "feed"
)
GLOBAL_VERSION = "feed:v:*"


def _member_version(user_id: object) -> str:
    return f"feed:v:{user_id}"


def feed_me(*, viewer: User) -> scoring.Me:
    """The values the feed asks of `viewer` (409 `profile_incomplete` without a gender)."""
    profile = profile_selectors.own_profile(user=viewer)
    if profile is None or profile.gender not in OPPOSITE:
        raise profile_incomplete()
    return scoring.Me.of(profile, timezone.localdate())


def pool_of(*, viewer: User, me: scoring.Me) -> QuerySet[Profile]:
    """Everyone the feed's hard filters let through for `me` (the visibility rule, the gender
    sought, my age range, not ignored, no interest between us)."""
    hard = ~Q(pk__in=Interest.objects.filter(sender=viewer).values("receiver")) & ~Q(
        pk__in=Interest.objects.filter(receiver=viewer).values("sender")
    )
    if me.wants is not None:
        hard &= Q(date_of_birth__lte=me.wants.born_lte, date_of_birth__gt=me.wants.born_gt)
    return candidates(viewer=viewer, gender=me.sought, where=hard)


def feed_candidates(*, viewer: User) -> tuple[QuerySet[Profile], scoring.Me]:
    """`pool_of` for `viewer`, and the values it was drawn for."""
    me = feed_me(viewer=viewer)
    return pool_of(viewer=viewer, me=me), me


# How far short of a perfect 100 a page's search reaches, in turn, until the page is full:
# each budget admits only candidates meeting every criterion heavier than it (scoring.within),
# so most pages are found among a few thousand candidates read through the search index; the
# last admits everyone. Each step widens the condition where a weight is crossed.
BUDGETS = (0, 3, 5, 9, 100)

# A page's statement is compiled once per shape (which of my values are set, list lengths,
# budget, direction, size) and run with each member's values: building the score's
# expressions and compiling them took 95 ms of a 135 ms page at a million members, PostgreSQL
# 40 ms (README, "Matching").
FEED_PAGES = Statements("feed page", size=1024)


def _page_rows(
    values: Mapping[str, Any], *, wants: bool, active: bool, budget: int, reverse: bool, size: int
) -> QuerySet[Any]:
    """The statement of one budget's page, from values alone (`scoring.Me.values`)."""
    viewer = User(pk=values["id"], is_active=active)
    me = scoring.Me.from_values(values, wants=wants)
    scored = scoring.annotations(me)
    rows = pool_of(viewer=viewer, me=me).filter(scoring.within(scoring.criteria(me), budget))
    rows = rows.annotate(match_score=scored["match_score"])
    if budget < 100:
        rows = rows.filter(match_score__gte=100 - budget)
    return FEED_KEYSET.page_rows(
        rows,
        after=values.get("after"),
        reverse=reverse,
        size=size,
        fetch=lambda keys: policy.card_values(keys.annotate(**scored), *scored),
    )


def feed_rows_page(*, viewer: User, cursor: str | None, size: int) -> KeysetPage:
    """One page of recommendations, exact over every candidate: rows scoring at least
    `100 - budget` are all inside that budget's condition, so when it holds a full page after
    the cursor, no candidate outside it could be on the page. Then widened to cards (with
    each row's reasons) for just that page, in the same statement."""
    me = feed_me(viewer=viewer)
    after, reverse = FEED_KEYSET.decode(cursor) if cursor else (None, False)
    values = me.values()
    if after is not None:
        values["after"] = tuple(after)
    least = 0 if after is None else min(max(0, 100 - after[0]), 100)  # a key holder's -5 too
    # Rounded up to a budget of the list, so a later page runs one of five shapes, not one per
    # score: a wider budget only admits more rows, so the page is as exact.
    least = min(b for b in BUDGETS if b >= least)
    # A previous page holds rows scoring at least the cursor's: its budget is always enough.
    budgets = [least] if reverse else sorted({least, *(b for b in BUDGETS if b > least)})
    wants, active = me.wants is not None, viewer.is_active
    for budget in budgets:
        shape = (wants, active, budget, reverse, size)
        found = FEED_PAGES.rows(
            shape,
            values,
            lambda values, budget=budget: _page_rows(
                values, wants=wants, active=active, budget=budget, reverse=reverse, size=size
            ),
        )
        if len(found) > size:
            break
    return FEED_KEYSET.page_of(found, size=size, reverse=reverse, cursor=cursor)


def feed_page(*, viewer: User, cursor: str | None, size: int) -> dict[str, Any]:
    """`{"results": [card with match_score and match_reasons], "next", "previous"}`; cursors,
    not links, so the cached page serves any host."""
    from profiles.serializers import cards_from_values

    def build() -> dict[str, Any]:
        page = feed_rows_page(viewer=viewer, cursor=cursor, size=size)
        cards = cards_from_values(viewer, page.rows)
        for card, row in zip(cards, page.rows, strict=True):
            card["match_score"] = row["match_score"]
            card["match_reasons"] = scoring.reasons(row)
        return {
            "results": cards,
            "next": page.next,
            "previous": page.previous,
        }

    return cached_page(viewer=viewer, cursor=cursor, size=size, build=build)


def cached_page(
    *, viewer: User, cursor: str | None, size: int, build: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The page from the cache when both versions still match, else `build()`'s, stored.
    One cache round trip when it is there."""
    digest = hashlib.blake2b(f"{size}:{cursor or ''}".encode(), digest_size=12).hexdigest()
    page_key = f"feed:p:{viewer.pk}:{digest}"
    member_key = _member_version(viewer.pk)
    found = cache.get_many([member_key, GLOBAL_VERSION, page_key])
    versions = [found.get(member_key), found.get(GLOBAL_VERSION)]
    if None in versions:
        # Never store a page under a missing version: an evicted version would make such a
        # page match again after a later change.
        for key, version in zip((member_key, GLOBAL_VERSION), versions, strict=True):
            if version is None:
                cache.add(key, uuid.uuid4().hex, None)
        found = {**found, **cache.get_many([member_key, GLOBAL_VERSION])}
        versions = [found.get(member_key), found.get(GLOBAL_VERSION)]
    entry = found.get(page_key)
    if entry is not None and entry["v"] == versions:
        return entry
    entry = {**build(), "v": versions}
    cache.set(page_key, entry, settings.MATCHING_FEED_TTL)
    return entry


def _bump(keys: list[str]) -> None:
    # After commit: a page built from data about to change would otherwise be stored under
    # the new version.
    # robust: a cache that fails is logged, never turns the committed change into an error.
    transaction.on_commit(
        lambda: cache.set_many({key: uuid.uuid4().hex for key in keys}, None), robust=True
    )


def invalidate_member(*user_ids: object) -> None:
    """The members' own feeds are stale (their profile, preferences, blocks, ignores or
    interests changed)."""
    _bump([_member_version(user_id) for user_id in user_ids])


def invalidate_everyone() -> None:
    """Someone stopped being visible: no cached feed may show them any longer."""
    _bump([GLOBAL_VERSION])
