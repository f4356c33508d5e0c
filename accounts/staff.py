"""Separation of staff duties: who may act on whom. One rule for the API, the admin and every
service that changes a member or a staff account.

- Staff powers need staff MFA when it is required (`aurum.permissions.staff_mfa_missing`).
- Moderators act on members only, never on staff accounts.
- Only an admin changes a staff account, and never their own; the last active admin is
  never suspended or demoted.
- Nobody decides a report they filed, or one about themselves (moderation asks
  `decision_problem` with the report's two members).
- Staff cannot be reported through the member API.

Every refusal writes an audit record (`AuditAction.DUTY_REFUSED`) naming the rule, the change
and the target. Callers ask before they open a transaction, so that a refusal's record is not
rolled back with the change it refused; the role and state changes (accounts.services) ask
again on the rows they lock, and audit a refusal once their transaction has closed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from accounts.audit import audit_record
from accounts.models import AuditAction, Role, User
from aurum.errors import Conflict, DomainError, Forbidden
from aurum.permissions import staff_mfa_missing


class Change(StrEnum):
    """What a staff member is about to do to an account."""

    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    ROLE = "role"
    PASSWORD = "password"  # noqa: S105 - the name of a change, not a secret
    PROFILE_EDIT = "profile_edit"
    VERIFY = "verify"
    PHOTO_REVIEW = "photo_review"
    REPORT_DECISION = "report_decision"
    REPORT = "report"


# What the audit log's console shows for a refusal's rule and change (the codes stay in the
# record, for the API and for searches).
RULE_LABELS = {
    "mfa_required_for_staff": "staff MFA is required",
    "permission_denied": "staff only",
    "admin_only": "only an admin changes roles and passwords",
    "own_account": "nobody acts on their own account",
    "staff_target": "moderators act on members only",
    "last_admin": "the last active admin stays",
    "own_report": "nobody decides their own report",
    "not_found": "staff cannot be reported",
    "contact_details_member_only": "contact details are the member's own",
}
CHANGE_LABELS = {
    Change.SUSPEND: "suspend",
    Change.REACTIVATE: "reactivate",
    Change.ROLE: "change the role",
    Change.PASSWORD: "set the password",
    Change.PROFILE_EDIT: "edit the profile",
    Change.VERIFY: "decide the verification",
    Change.PHOTO_REVIEW: "review a photo",
    Change.REPORT_DECISION: "decide a report",
    Change.REPORT: "report",
}


def refusal_label(metadata: dict[str, Any]) -> str:
    """A refusal's record in words: "Refused to suspend: moderators act on members only"."""
    rule, change = str(metadata.get("rule", "")), str(metadata.get("change", ""))
    return f"Refused to {CHANGE_LABELS.get(change, change)}: {RULE_LABELS.get(rule, rule)}"


def mfa_problem(actor: User) -> DomainError | None:
    """Staff powers without the MFA the settings require: the code the API and admin share."""
    if staff_mfa_missing(actor):
        return Forbidden(
            "Staff sign in with their authenticator code to use staff powers: log in again "
            "with mfa_code.",
            "mfa_required_for_staff",
        )
    return None


def _is_last_active_admin(user: User) -> bool:
    if user.role != Role.ADMIN or not user.is_active:
        return False
    return not User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


def act_problem(
    *, actor: User | None, target: User, change: Change, new_role: str | None = None
) -> DomainError | None:
    """Why `actor` may not make `change` to `target`, or None. `actor=None` is the system
    (`manage.py`, migrations, the demo seed), which only the last-admin rule binds."""
    if actor is not None and (problem := _actor_problem(actor, target, change)):
        return problem
    demoted = change == Change.ROLE and new_role != Role.ADMIN
    if (change == Change.SUSPEND or demoted) and _is_last_active_admin(target):
        return Conflict(
            "This is the last active admin: appoint another admin first.",
            "last_admin",
        )
    return None


def _actor_problem(actor: User, target: User, change: Change) -> DomainError | None:
    if not actor.is_staff or not actor.is_active:
        return Forbidden("Staff only.", "permission_denied")
    if problem := mfa_problem(actor):
        return problem
    if change in {Change.ROLE, Change.PASSWORD} and actor.role != Role.ADMIN:
        # Roles and passwords are an admin's, members' included.
        return Forbidden("Only an admin changes roles and passwords.", "admin_only")
    if target.pk == actor.pk:
        return Forbidden("Nobody uses staff powers on their own account.", "own_account")
    if target.is_staff and actor.role != Role.ADMIN:
        return Forbidden("Moderators act on members only.", "staff_target")
    return None


def decision_problem(
    *, actor: User, reporter_id: Any, reported: User, suspends: bool = False
) -> DomainError | None:
    """A report's decision: not by its reporter nor by the member it is about, then the rule
    for acting on the reported member (for a suspension, the suspension's own)."""
    if actor.pk in {reporter_id, reported.pk}:
        return Forbidden(
            "Nobody decides a report they filed or one about themselves.",
            "own_report",
        )
    change = Change.SUSPEND if suspends else Change.REPORT_DECISION
    return act_problem(actor=actor, target=reported, change=change)


def refuse(
    problem: DomainError,
    *,
    actor: User | None,
    target: User | None,
    change: Change,
    ip: str | None = None,
) -> DomainError:
    """Audit a refusal and hand back the error to raise."""
    audit_record(
        action=AuditAction.DUTY_REFUSED,
        actor=actor,
        target=target,
        ip=ip,
        metadata={"rule": problem.code, "change": change.value},
    )
    return problem


def act_check(
    *,
    actor: User | None,
    target: User,
    change: Change,
    new_role: str | None = None,
    ip: str | None = None,
) -> None:
    """`act_problem`, audited and raised."""
    problem = act_problem(actor=actor, target=target, change=change, new_role=new_role)
    if problem is not None:
        raise refuse(problem, actor=actor, target=target, change=change, ip=ip)
