"""Interests (one state machine per pair), shortlist and ignore."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from aurum.errors import ApiError
from matching import signals
from matching.models import Ignore, Interest, InterestStatus, ProfileVisit, Shortlist
from matching.search import sought_gender
from matching.selectors import pair_key
from notifications.models import Kind
from notifications.services import notify
from profiles import selectors as profile_selectors
from profiles import services as profile_services
from profiles.models import Profile


def _visible_target(viewer: User, target: User | None) -> User:
    if target is None or not profile_selectors.can_see(viewer=viewer, owner=target):
        raise ApiError("Not found.", "not_found", 404)
    if target.pk == viewer.pk:
        raise ApiError("That is your own profile.", "self", 400)
    return target


def interest_send(*, sender: User, receiver: User | None, message: str = "") -> Interest:
    """Send an interest. No second pending interest to the same member (409); when the other
    member already sent one, this accepts it. The pair's row is locked (or created under the
    one-per-pair constraint), so two members sending at once end in one accepted interest.
    Only a visible member sends (`can_act`: 403 `profile_not_visible`)."""
    profile_services.require_can_act(member=sender, doing="send interests")
    receiver = _visible_target(sender, receiver)
    sought = sought_gender(sender)
    if Profile.objects.filter(pk=receiver.pk).values_list("gender", flat=True).first() != sought:
        raise ApiError("Interests go to members of the gender you seek.", "same_gender", 400)
    since = timezone.now() - timedelta(days=1)
    sent_today = Interest.objects.filter(sender=sender, created_at__gte=since).count()
    if sent_today >= settings.MATCHING_INTERESTS_PER_DAY:
        raise ApiError("You have sent today's interests; try again tomorrow.", "daily_limit", 429)
    low, high = pair_key(sender.pk, receiver.pk)
    for _ in range(2):
        try:
            with transaction.atomic():
                existing = (
                    Interest.objects.select_for_update()
                    .filter(member_low=low, member_high=high)
                    .first()
                )
                if existing is None:
                    interest = Interest.objects.create(
                        sender=sender, receiver=receiver, message=message
                    )
                    _tell(
                        receiver,
                        Kind.INTEREST_RECEIVED,
                        f"{sender.first_name} is interested in you",
                        interest,
                    )
                    return interest
                return _send_over(existing, sender, receiver, message)
        except IntegrityError:
            continue  # the other member created the pair's row a moment ago: read it again
    raise ApiError("Please try again.", "conflict", 409)


def _send_over(existing: Interest, sender: User, receiver: User, message: str) -> Interest:
    if existing.status == InterestStatus.ACCEPTED:
        raise ApiError("You are already connected.", "already_connected", 409)
    if existing.status == InterestStatus.PENDING:
        if existing.sender_id == sender.pk:
            raise ApiError("Your interest is already waiting for an answer.", "duplicate", 409)
        return _accept(existing)  # both sent: the second send accepts the first
    existing.sender, existing.receiver = sender, receiver
    existing.status, existing.message, existing.decided_at = InterestStatus.PENDING, message, None
    existing.save()
    _tell(receiver, Kind.INTEREST_RECEIVED, f"{sender.first_name} is interested in you", existing)
    return existing


def _accept(interest: Interest) -> Interest:
    interest.status = InterestStatus.ACCEPTED
    interest.decided_at = timezone.now()
    interest.save(update_fields=["status", "decided_at", "updated_at"])
    signals.interest_accepted.send(sender=Interest, interest=interest)
    _tell(
        interest.sender,
        Kind.INTEREST_ACCEPTED,
        f"{interest.receiver.first_name} accepted your interest",
        interest,
    )
    return interest


def _tell(recipient: User, kind: Kind, title: str, interest: Interest) -> None:
    notify(recipient=recipient, kind=kind, title=title, data={"interest": str(interest.pk)})


def _locked(interest: Interest | None, user: User, role: str) -> Interest:
    if interest is None or getattr(interest, f"{role}_id") != user.pk:
        raise ApiError("Not found.", "not_found", 404)
    locked = (
        Interest.objects.select_for_update()
        .select_related("sender", "receiver")
        .get(pk=interest.pk)
    )
    if locked.status != InterestStatus.PENDING:
        raise ApiError(f"This interest is {locked.status}.", "not_pending", 409)
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
        if not profile_selectors.can_see(viewer=user, owner=locked.sender):
            raise ApiError("Not found.", "not_found", 404)
        return _accept(locked)


def interest_decline(*, user: User, interest: Interest | None) -> Interest:
    with transaction.atomic():
        locked = _locked(interest, user, "receiver")
        locked.status, locked.decided_at = InterestStatus.DECLINED, timezone.now()
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        _tell(locked.sender, Kind.INTEREST_DECLINED, "An interest was declined", locked)
    return locked


def interest_withdraw(*, user: User, interest: Interest | None) -> Interest:
    with transaction.atomic():
        locked = _locked(interest, user, "sender")
        locked.status, locked.decided_at = InterestStatus.WITHDRAWN, timezone.now()
        locked.save(update_fields=["status", "decided_at", "updated_at"])
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
    target = _visible_target(owner, target)
    item, _ = Ignore.objects.get_or_create(owner=owner, target=target)
    return item


def ignore_remove(*, owner: User, target: User | None) -> None:
    if target is not None:
        Ignore.objects.filter(owner=owner, target=target).delete()


def visit_record(*, viewer: User, owner_id: object) -> None:
    """One visit per viewer, profile and day; a second look the same day changes nothing."""
    ProfileVisit.objects.bulk_create(
        [ProfileVisit(viewer=viewer, owner_id=owner_id, day=timezone.localdate())],
        ignore_conflicts=True,
    )
