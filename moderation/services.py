"""Blocks, reports and moderators' decisions on them."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

import policy
from accounts import services as accounts_services
from accounts import staff
from accounts.models import AuditAction, User
from aurum.errors import Conflict, DomainError, Invalid, NotFound
from moderation import signals
from moderation.models import Block, Report, ReportAction, ReportStatus
from notifications.choices import Kind
from notifications.services import notify

AUTO_FLAG_REPORTERS = 3
AUTO_FLAG_WINDOW = timedelta(days=7)


def _not_found() -> DomainError:
    return NotFound()


def block_create(*, blocker: User, blocked: User | None) -> tuple[Block, bool]:
    """Idempotent: blocking twice returns the first block (created=False). A member may block
    anyone they can see, or anyone they reported (even while that member is held for review).
    A new block is announced (`signals.block_created`) inside its transaction."""
    if blocked is None:
        raise _not_found()
    if blocked.pk == blocker.pk:
        raise Invalid("You cannot block yourself.", "self_block")
    existing = Block.objects.filter(blocker=blocker, blocked=blocked).first()
    if existing is not None:
        return existing, False
    reported_by_me = Report.objects.filter(reporter=blocker, reported=blocked).exists()
    if not reported_by_me and not policy.can_see(viewer=blocker, owner=blocked):
        raise _not_found()
    try:
        with transaction.atomic():
            block = Block.objects.create(blocker=blocker, blocked=blocked)
            signals.block_created.send(sender=Block, block=block)
        return block, True
    except IntegrityError:  # the same block, made by a request racing this one
        return Block.objects.get(blocker=blocker, blocked=blocked), False


def block_delete(*, blocker: User, blocked: User | None) -> None:
    """Idempotent: removing a block that is not there is no error. A block removed is
    announced (`signals.block_removed`) after the commit."""
    if blocked is None:
        return
    removed, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    if removed:
        pair = {"blocker_id": blocker.pk, "blocked_id": blocked.pk}
        transaction.on_commit(lambda: signals.block_removed.send(sender=Block, **pair), robust=True)


def report_create(
    *,
    reporter: User,
    reported: User | None,
    reason: str,
    details: str = "",
    ip: str | None = None,
) -> Report:
    """One open report per reporter and member (409 for a second). A member may report someone
    they see, or someone they blocked. Three different reporters within seven days hold the
    member out of sight until a moderator looks (announced after the commit:
    `signals.member_flagged`). Staff accounts are not reported here (404, as for anyone the
    reporter cannot see; the attempt is audited): a report is a way to act on a member, and
    moderators act on members only."""
    if reported is None:
        raise _not_found()
    if reported.pk == reporter.pk:
        raise Invalid("You cannot report yourself.", "self_report")
    if reported.is_staff:
        raise staff.refuse(
            _not_found(), actor=reporter, target=reported, change=staff.Change.REPORT, ip=ip
        )
    blocked_by_me = Block.objects.filter(blocker=reporter, blocked=reported).exists()
    if not blocked_by_me and not policy.can_see(viewer=reporter, owner=reported):
        raise _not_found()
    try:
        with transaction.atomic():
            # Lock the reported account: two reports racing to be the third both count.
            User.objects.select_for_update().filter(pk=reported.pk).first()
            report = Report.objects.create(
                reporter=reporter, reported=reported, reason=reason, details=details
            )
            _auto_flag(reported)
    except IntegrityError as exc:
        raise Conflict(
            "You already have an open report about this member.",
            "duplicate",
        ) from exc
    report.refresh_from_db(fields=["flagged"])
    return report


def _auto_flag(reported: User) -> None:
    """Hold a member for review when enough distinct, verified members have open reports about
    them from the last week. Unapproved accounts do not count: three throwaway sign-ups must
    not be able to hide anyone."""
    since = timezone.now() - AUTO_FLAG_WINDOW
    reporters = (
        Report.objects.filter(
            reported=reported,
            status=ReportStatus.PENDING,
            created_at__gte=since,
            reporter__admin_approved=True,
            reporter__is_active=True,
        )
        .values("reporter")
        .distinct()
        .count()
    )
    if reporters >= AUTO_FLAG_REPORTERS:
        Report.objects.filter(reported=reported, status=ReportStatus.PENDING).update(flagged=True)
        user_id = reported.pk
        transaction.on_commit(
            lambda: signals.member_flagged.send(sender=Report, user_id=user_id), robust=True
        )


def _duty_problem(*, moderator: User, report: Report, action: str | None) -> DomainError | None:
    return staff.decision_problem(
        actor=moderator,
        reporter_id=report.reporter_id,
        reported=report.reported,
        suspends=action == ReportAction.SUSPEND,
    )


def resolution_problem(
    *, moderator: User, report: Report, action: str | None = None
) -> DomainError | None:
    """Why `moderator` may not resolve `report` (with `action`), or None: separation of
    duties first (accounts.staff), then the report's state."""
    duty = _duty_problem(moderator=moderator, report=report, action=action)
    if duty is not None:
        return duty
    if report.status != ReportStatus.PENDING:
        return Conflict("This report is already resolved.", "already_resolved")
    return None


def resolution_check(
    *, moderator: User, report: Report, action: str | None, ip: str | None = None
) -> None:
    """Separation of duties for this decision, audited and raised (the API and the admin's
    form ask it before anything else, so that the refusal's record is not rolled back)."""
    duty = _duty_problem(moderator=moderator, report=report, action=action)
    if duty is not None:
        raise staff.refuse(
            duty,
            actor=moderator,
            target=report.reported,
            change=staff.Change.REPORT_DECISION,
            ip=ip,
        )


def report_resolve(
    *, moderator: User, report: Report | None, action: str, notes: str, ip: str | None = None
) -> Report:
    """Close a report: dismiss, warn the member, or suspend the account
    (`accounts.services.user_set_active`, as every suspension: its sessions end, its sockets
    close, its phones are forgotten, it is hidden everywhere). Audited; the reporter hears of it
    notified, and so is the reported member when warned or suspended."""
    if report is None:
        raise _not_found()
    action = ReportAction(action)
    resolution_check(moderator=moderator, report=report, action=action, ip=ip)
    with transaction.atomic():
        locked = Report.objects.select_for_update().select_related("reported").get(pk=report.pk)
        problem = resolution_problem(moderator=moderator, report=locked, action=action)
        if problem is not None:
            raise problem
        locked.status = ReportStatus.RESOLVED
        locked.action = action
        locked.notes = notes
        locked.resolved_by = moderator
        locked.resolved_at = timezone.now()
        locked.save()
        accounts_services.audit_record(
            action=AuditAction.REPORT_RESOLUTION,
            actor=moderator,
            target=locked.reported,
            ip=ip,
            metadata={"report": str(locked.pk), "action": action.value, "reason": locked.reason},
        )
        if action == ReportAction.SUSPEND:
            if locked.reported.is_active:  # the suspension the admin's action and form make
                accounts_services.user_set_active(
                    actor=moderator,
                    user=locked.reported,
                    active=False,
                    reason=f"report {locked.pk}: {locked.reason}",
                    ip=ip,
                )
        else:
            # A moderator has looked: the member is no longer held out of sight.
            Report.objects.filter(reported=locked.reported, status=ReportStatus.PENDING).update(
                flagged=False
            )
        _tell_about_resolution(locked, action)
    return locked


def _tell_about_resolution(report: Report, action: ReportAction) -> None:
    notify(
        recipient=report.reporter,
        kind=Kind.REPORT_RESOLVED,
        title="Thank you: your report was reviewed",
        body="A moderator looked into your report and took action where it was needed.",
        data={"report": str(report.pk)},
    )
    if action == ReportAction.WARN:
        # Fixed words: the moderator's notes are internal and could point at the reporter.
        notify(
            recipient=report.reported,
            kind=Kind.WARNING,
            title="A warning from the Aurum moderators",
            body="A member reported your conduct. Please keep to Aurum's community rules; "
            "a further report may close your account.",
        )
    elif action == ReportAction.SUSPEND:
        notify(
            recipient=report.reported,
            kind=Kind.SUSPENSION,
            title="Your Aurum account is suspended",
            body="Your account was suspended after a report. Write to support to appeal.",
        )
