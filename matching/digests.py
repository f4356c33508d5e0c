"""Match digests: "new matches for you" and "unanswered interests", by email and push, as
often as each member chose (immediate, daily, weekly, never) and never in their quiet hours.

The schedule (`matching.tasks.digests`, every MATCHING_DIGEST_EVERY_SECONDS) finds who is due
— outside quiet hours, with no digest yet for this period — and queues one task per member.
That task composes the digest at that moment, through the same rules as the feed (its hard
filters and score) and the interests list (the visibility rule), so a digest never names
someone the member can no longer see; the `Digest` row, unique per member, kind and period,
makes a second run for the same period send nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

import policy
from accounts.models import User
from aurum.queue import publish
from matching import scoring
from matching.feed import feed_candidates
from matching.lists import interests_of
from matching.models import Digest, DigestKind, InterestStatus
from notifications.choices import DigestFrequency, Kind
from notifications.selectors import digest_audience
from notifications.services import notify
from profiles import selectors as profile_selectors

FIELDS = {DigestKind.MATCHES: "digest_matches", DigestKind.INTERESTS: "digest_interests"}
WINDOW = {
    DigestFrequency.IMMEDIATE: timedelta(hours=1),
    DigestFrequency.DAILY: timedelta(days=1),
    DigestFrequency.WEEKLY: timedelta(days=7),
}


def period_of(frequency: str, moment: datetime) -> str:
    """The period a digest belongs to, in the member's time zone."""
    local = moment.astimezone(ZoneInfo(settings.MEMBER_TIME_ZONE))
    if frequency == DigestFrequency.DAILY:
        return local.date().isoformat()
    if frequency == DigestFrequency.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    slot = settings.MATCHING_DIGEST_EVERY_SECONDS
    return f"i{int(moment.timestamp()) // slot * slot}"


def due(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Queue a digest task for each member due one now; returns how many were queued."""
    queued = 0
    for user_id, kind, frequency, period in due_members(now=now or timezone.now(), limit=limit):
        publish("matching.tasks.digest", str(user_id), kind, frequency, period)
        queued += 1
    return queued


def due_members(*, now: datetime, limit: int = 2000) -> list[tuple[Any, str, str, str]]:
    """Who is due which digest at `now`: (member, kind, frequency, period), at most `limit`
    per kind and frequency (so no kind starves another). Only listed members get digests:
    others could not act on what one names."""
    local_time = now.astimezone(ZoneInfo(settings.MEMBER_TIME_ZONE)).time()
    found: list[tuple[Any, str, str, str]] = []
    for kind, field in FIELDS.items():
        for frequency in WINDOW:
            period = period_of(frequency, now)
            done = Digest.objects.filter(user=OuterRef("pk"), kind=kind, period=period)
            members = (
                digest_audience(field=field, frequency=frequency, local_time=local_time)
                .filter(pk__in=policy.listed_members())
                .filter(~Exists(done))
                .order_by("pk")
                .values_list("pk", flat=True)[:limit]
            )
            found += [(user_id, str(kind), str(frequency), period) for user_id in members]
    return found


def new_matches(*, viewer: User, since: datetime, limit: int) -> list[dict[str, Any]]:
    """The best two-way matches approved since `since`, by the feed's own score, as cards."""
    from profiles.serializers import cards_from_values

    pool, me = feed_candidates(viewer=viewer)
    fresh = pool.filter(reviewed_at__gt=since).values("pk")
    scored = scoring.annotations(me)
    rows = list(
        policy.card_values(
            profile_selectors.profiles_among(fresh)
            .annotate(**scored)
            .filter(match_score__gte=settings.MATCHING_DIGEST_MIN_SCORE)
            .order_by("-match_score", "-last_active_at", "-user_id"),
            *scored,
        )[:limit]
    )
    return cards_from_values(viewer, rows)


def unanswered(*, viewer: User, since: datetime) -> list[Any]:
    """Interests received since `since` and still waiting, from members the viewer sees."""
    return list(
        interests_of(viewer=viewer, direction="received", status=InterestStatus.PENDING)
        .filter(created_at__gt=since)
        .order_by("-created_at")
    )


def send(*, user_id: Any, kind: str, frequency: str, period: str) -> str:
    """Compose and send one member's digest for one period, once: the period's row is taken
    first, so a second task for it (queued again before this one ran) composes nothing."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not policy.can_act(member=user):
        return "not_listed"
    local_time = timezone.now().astimezone(ZoneInfo(settings.MEMBER_TIME_ZONE)).time()
    awake = digest_audience(
        field=FIELDS[DigestKind(kind)], frequency=frequency, local_time=local_time
    )
    if not awake.filter(pk=user.pk).exists():
        return "quiet"  # its quiet hours began (or its choice changed) since it was queued
    last = Digest.objects.filter(user=user, kind=kind).order_by("-created_at").first()
    since = last.created_at if last else timezone.now() - WINDOW[frequency]
    try:
        with transaction.atomic():
            digest = Digest.objects.create(user=user, kind=kind, period=period)
    except IntegrityError:
        return "already_sent"
    if kind == DigestKind.MATCHES:
        cards = new_matches(viewer=user, since=since, limit=settings.MATCHING_DIGEST_SIZE)
        named = [card["id"] for card in cards]
        people = [_who(card["first_name"], card["age"], card["district"]) for card in cards]
        count = len(cards)
        title = f"{count} new match{'es' if count != 1 else ''} for you"
        data = {"profiles": named}
    else:
        interests = unanswered(viewer=user, since=since)
        named = [str(i.sender_id) for i in interests]
        people = [i.sender.first_name for i in interests]
        count = len(interests)
        title = f"{count} interest{'s' if count != 1 else ''} waiting for your answer"
        data = {"interests": [str(i.pk) for i in interests]}
    if not named:
        if frequency == DigestFrequency.IMMEDIATE:
            digest.delete()  # an immediate slot with nothing in it leaves no row
        return "nothing_new"
    with transaction.atomic():
        Digest.objects.filter(pk=digest.pk).update(named=" ".join(named))
        notify(
            recipient=user,
            kind=Kind.DIGEST_MATCHES if kind == DigestKind.MATCHES else Kind.DIGEST_INTERESTS,
            title=title,
            body=_listing(people),
            data={**data, "digest": str(digest.pk)},
            channels=frozenset({"email", "push"}),
        )
    return "sent"


def _who(name: str, age: int | None, district: str | None) -> str:
    details = ", ".join(str(part) for part in (age, _district(district)) if part)
    return f"{name} ({details})" if details else name


def _district(value: str | None) -> str | None:
    from profiles.choices import District

    return District(value).label if value in District.values else value


def _listing(people: list[str], shown: int = 5) -> str:
    if len(people) <= shown:
        return ", ".join(people)
    return f"{', '.join(people[:shown])} and {len(people) - shown} more"


def purge(*, older_than_days: int = 60) -> int:
    """Digest rows past any period still open: "since the last one" needs only the latest,
    and a weekly digest's is at most a week old."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return Digest.objects.filter(created_at__lt=cutoff).delete()[0]
