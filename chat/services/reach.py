"""Who may talk to whom, chat and calls alike: the one check every send, call, read
receipt and typing frame asks."""

from __future__ import annotations

from typing import Any

import policy
from accounts.models import User
from aurum.errors import DomainError, Forbidden, NotFound
from matching import selectors as matching_selectors
from profiles import services as profile_services


def not_found() -> DomainError:
    return NotFound()


def pair_problems(pairs: set[tuple[Any, Any]]) -> dict[frozenset[Any], DomainError]:
    """Why the members of each pair may not talk (chat or call), for the pairs that may not:
    each must see the other (the visibility rule: both active, approved, not hidden, not held
    for review, no block either way; 403 `profile_not_visible` when the first of the pair, the
    one acting, is out of sight) and an interest between them must be accepted. Every send
    and call asks this, in a few queries however many pairs; accounts and blocks are read
    afresh (a socket's user was loaded when it connected).

    A member out of sight answers exactly as one who does not exist (404 `not_found`), as
    profiles, interests and reports do: no answer tells a block from a hidden or closed
    account. Only "no accepted interest" is said, and only of a member the sender sees."""
    visible = policy.visible_pairs(pairs)
    connected = matching_selectors.accepted_pairs(pairs)
    apart = {(a, b) for a, b in pairs if frozenset((a, b)) not in visible}
    # The first of a pair is the one acting: when it is they who are out of sight, say so
    # (their own state; not when the batch has the pair both ways: the answer is keyed by pair).
    actors = {a for a, b in apart if (b, a) not in pairs}
    unlisted = actors - policy.listed_among(actors) if actors else set()
    problems: dict[frozenset[Any], DomainError] = {}
    for a, b in pairs:
        key = frozenset((a, b))
        if a in unlisted and (b, a) not in pairs:
            problems[key] = profile_services.not_visible("chat or call")
        elif key not in visible:
            problems[key] = not_found()
        elif key not in connected:
            problems[key] = Forbidden(
                "You can talk once an interest between you is accepted.",
                "not_connected",
            )
    return problems


def chat_problem(a: User, b: User) -> DomainError | None:
    """Why `a` may not talk to `b` (chat or call), or None when they may."""
    return pair_problem(a.pk, b.pk)


def pair_problem(a_id: Any, b_id: Any) -> DomainError | None:
    return pair_problems({(a_id, b_id)}).get(frozenset((a_id, b_id)))


def check_reach(a_id: Any, b_id: Any) -> None:
    problem = pair_problem(a_id, b_id)
    if problem is not None:
        raise problem
