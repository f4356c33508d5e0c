"""Interests (one state machine per pair), shortlist and ignore. Interests and ignores are
what the feed's hard filters read: each write drops the two members' cached feeds itself."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

import policy
from accounts.models import User
from aurum.errors import Conflict, Invalid, NotFound, RateLimited
from matching import feed, signals
from matching.models import (
    Ignore,
    Interest,
    InterestSend,
    InterestStatus,
    ProfileVisit,
    Shortlist,
)
from matching.search import sought_gender
from matching.selectors import pair_key
from notifications.choices import Kind
from notifications.services import notify
from profiles import selectors as profile_selectors
from profiles import services as profile_services


def _visible_target(viewer: User, target: User | None) -> User:
    if target is None or not policy.can_see(viewer=viewer, owner=target):
        raise NotFound()
    if target.pk == viewer.pk:
        raise Invalid("That is your own profile.", "self")
    return target


# The daily limit's window, and the least time between two notices to a member of sends
# from the same member (a withdraw and a re-send, again and again, would otherwise ring her
# phone each time).
DAY = timedelta(days=1)


def interest_send(*, sender: User, receiver: User | None, message: str = "") -> Interest:
    """Send an interest. No second pending interest to the same member (409); when the other
    member already sent one, this accepts it. Only a visible member sends (`can_act`: 403
    `profile_not_visible`).

    Every send that leaves an interest waiting counts toward `MATCHING_INTERESTS_PER_DAY` in
    any 24 hours (429 `daily_limit` with Retry-After), whether it made the pair's row or reused
    it after a withdraw or a decline; after a decline its sender waits
    `MATCHING_RESEND_AFTER_DECLINE_DAYS` (409 `recently_declined` with Retry-After); the
    receiver hears of at most one send a day from the same member.

    The sender's account row is locked first, so one member's sends are counted one after
    another; then the pair's row is locked (or created under the one-per-pair constraint), so
    two members sending at once end in one accepted interest."""
    profile_services.require_can_act(member=sender, doing="send interests")
    receiver = _visible_target(sender, receiver)
    sought = sought_gender(sender)
    if profile_selectors.gender_of(receiver.pk) != sought:
        raise Invalid("Interests go to members of the gender you seek.", "same_gender")
    low, high = pair_key(sender.pk, receiver.pk)
    for _ in range(2):
        try:
            with transaction.atomic():
                # NO KEY UPDATE serialises this member's sends yet lets rows that point at the
                # account (a notification to them, a send) be written meanwhile: FOR UPDATE
                # would block those, and the other member's send could deadlock with this one.
                User.objects.select_for_update(no_key=True).filter(pk=sender.pk).first()
                existing = (
                    Interest.objects.select_for_update()
                    .filter(member_low=low, member_high=high)
                    .first()
                )
                if existing is None:
                    tell = _count_send(sender, receiver)
                    interest = Interest.objects.create(
                        sender=sender, receiver=receiver, message=message
                    )
                    _pair_changed(interest)
                    if tell:
                        _tell_sent(interest)
                    return interest
                return _send_over(existing, sender, receiver, message)
        except IntegrityError:
            continue  # the other member created the pair's row a moment ago: read it again
    raise Conflict("Please try again.", "conflict")


def _send_over(existing: Interest, sender: User, receiver: User, message: str) -> Interest:
    if existing.status == InterestStatus.ACCEPTED:
        raise Conflict("You are already connected.", "already_connected")
    if existing.status == InterestStatus.PENDING:
        if existing.sender_id == sender.pk:
            raise Conflict("Your interest is already waiting for an answer.", "duplicate")
        return _accept(existing)  # both sent: the second send accepts the first
    if existing.status == InterestStatus.DECLINED and existing.sender_id == sender.pk:
        _refuse_while_declined(existing)
    tell = _count_send(sender, receiver)
    existing.sender, existing.receiver = sender, receiver
    existing.status, existing.message, existing.decided_at = InterestStatus.PENDING, message, None
    existing.save()
    _pair_changed(existing)
    if tell:
        _tell_sent(existing)
    return existing


def _refuse_while_declined(declined: Interest) -> None:
    """409, not 429: the wait follows the other member's answer, not the sender's pace, and
    an app's retry-on-429 must not come back in a month. Retry-After says when it ends."""
    decided = declined.decided_at or declined.updated_at
    until = decided + timedelta(days=settings.MATCHING_RESEND_AFTER_DECLINE_DAYS)
    now = timezone.now()
    if now < until:
        raise Conflict(
            "This member declined your interest; you can send another from "
            f"{timezone.localdate(until):%d %B %Y}.",
            "recently_declined",
            retry_after=(until - now).total_seconds(),
        )


def _count_send(sender: User, receiver: User) -> bool:
    """Record this send against the daily limit (429 when it is used up) and say whether to
    tell the receiver: not when she was told of a send from this member within a day. One
    query for both: the sender's sends of the last day, at most the limit of them."""
    now, limit = timezone.now(), settings.MATCHING_INTERESTS_PER_DAY
    recent = list(
        InterestSend.objects.filter(sender=sender, created_at__gt=now - DAY)
        .order_by("-created_at")
        .values_list("created_at", "receiver_id", "notified")[: max(limit, 0)]
    )
    if len(recent) >= limit:
        frees = recent[-1][0] + DAY if recent else now + DAY  # the oldest send that counts
        raise RateLimited(
            retry_after=(frees - now).total_seconds(),
            detail="You have sent today's interests; try again later.",
            code="daily_limit",
        )
    tell = not any(to == receiver.pk and told for _, to, told in recent)
    InterestSend.objects.create(sender=sender, receiver=receiver, notified=tell, created_at=now)
    return tell


def _tell_sent(interest: Interest) -> None:
    _tell(
        interest.receiver,
        Kind.INTEREST_RECEIVED,
        f"{interest.sender.first_name} is interested in you",
        interest,
    )


def _accept(interest: Interest) -> Interest:
    interest.status = InterestStatus.ACCEPTED
    interest.decided_at = timezone.now()
    interest.save(update_fields=["status", "decided_at", "updated_at"])
    _pair_changed(interest)
    signals.interest_accepted.send(sender=Interest, interest=interest)
    _tell(
        interest.sender,
        Kind.INTEREST_ACCEPTED,
        f"{interest.receiver.first_name} accepted your interest",
        interest,
    )
    return interest


def _pair_changed(interest: Interest) -> None:
    # Each feed leaves out members with an interest either way: both members' cached pages
    # go (after the commit, matching.feed).
    feed.invalidate_member(interest.sender_id, interest.receiver_id)


def _tell(recipient: User, kind: Kind, title: str, interest: Interest) -> None:
    notify(recipient=recipient, kind=kind, title=title, data={"interest": str(interest.pk)})


def _locked(interest: Interest | None, user: User, role: str) -> Interest:
    if interest is None or getattr(interest, f"{role}_id") != user.pk:
        raise NotFound()
    locked = (
        Interest.objects.select_for_update()
        .select_related("sender", "receiver")
        .get(pk=interest.pk)
    )
    if locked.status != InterestStatus.PENDING:
        raise Conflict(f"This interest is {locked.status}.", "not_pending")
    return locked


def interest_accept(*, user: User, interest: Interest | None) -> Interest:
    """Only the receiver, only a pending interest; row-locked, so two accepts make one.

    Only while the receiver is visible (`can_act`): accepting opens both members' contact
    details and chat, and tells the sender her name; a hidden or re-verifying member would get
    his phone number while he gets a 404 for her. Declining stays open to her: it only answers.
    """
    with transaction.atomic():
        locked = _locked(interest, user, "receiver")
        profile_services.require_can_act(member=user, doing="accept interests")
        if not policy.can_see(viewer=user, owner=locked.sender):
            raise NotFound()
        return _accept(locked)


def interest_decline(*, user: User, interest: Interest | None) -> Interest:
    with transaction.atomic():
        locked = _locked(interest, user, "receiver")
        locked.status, locked.decided_at = InterestStatus.DECLINED, timezone.now()
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        _pair_changed(locked)
        _tell(locked.sender, Kind.INTEREST_DECLINED, "An interest was declined", locked)
    return locked


def interest_withdraw(*, user: User, interest: Interest | None) -> Interest:
    with transaction.atomic():
        locked = _locked(interest, user, "sender")
        locked.status, locked.decided_at = InterestStatus.WITHDRAWN, timezone.now()
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        _pair_changed(locked)
    return locked


def shortlist_add(*, owner: User, target: User | None) -> Shortlist:
    profile_services.require_can_act(member=owner, doing="shortlist members")
    target = _visible_target(owner, target)
    item, _ = Shortlist.objects.get_or_create(owner=owner, target=target)
    return item


def shortlist_remove(*, owner: User, target: User | None) -> None:
    if target is not None:
        Shortlist.objects.filter(owner=owner, target=target).delete()


def ignore_add(*, owner: User, target: User | None) -> Ignore:
    """The owner's feed leaves the target out from now on (its cached pages go)."""
    target = _visible_target(owner, target)
    item, created = Ignore.objects.get_or_create(owner=owner, target=target)
    if created:
        feed.invalidate_member(owner.pk, target.pk)
    return item


def ignore_remove(*, owner: User, target: User | None) -> None:
    if target is not None:
        removed, _ = Ignore.objects.filter(owner=owner, target=target).delete()
        if removed:
            feed.invalidate_member(owner.pk, target.pk)


def visit_record(*, viewer: User, owner_id: object) -> None:
    """One visit per viewer, profile and day; a second look the same day changes nothing.
    The cache remembers the day's first look, so a second writes nothing at all (a member
    opens the same profiles again and again); the unique row settles it when it forgot."""
    day = timezone.localdate()
    key = f"visit:{viewer.pk}:{owner_id}:{day.isoformat()}"
    if cache.get(key):
        return
    ProfileVisit.objects.bulk_create(
        [ProfileVisit(viewer=viewer, owner_id=owner_id, day=day)], ignore_conflicts=True
    )
    cache.set(key, 1, VISIT_REMEMBERED)  # only once the row is there: a failed insert is retried


VISIT_REMEMBERED = 26 * 3600  # seconds: past the day it names, wherever midnight falls
