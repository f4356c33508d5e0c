"""Onboarding: signup, completing the profile, and moderators' verification decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from accounts import services as accounts_services
from accounts import staff
from accounts.models import AuditAction, User
from aurum.errors import DomainError, Invalid, NotFound
from notifications.choices import Kind
from notifications.services import notify
from profiles import selectors as profile_selectors
from profiles import services as profile_services
from profiles.choices import CreatedBy

if TYPE_CHECKING:
    from profiles.models import Profile


def member_signup(
    *,
    phone: str,
    password: str,
    first_name: str,
    last_name: str = "",
    email: str | None = None,
    whatsapp: str | None = None,
    created_by: str = CreatedBy.SELF,
    ip: str | None = None,
) -> tuple[User, Profile]:
    """The account and its empty profile, together or not at all."""
    with transaction.atomic():
        user = accounts_services.user_register(
            phone=phone,
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            ip=ip,
        )
        profile = profile_services.profile_create(
            user=user, created_by=created_by, whatsapp=whatsapp
        )
    return user, profile


def member_profile_for(*, actor: User, member: User | None) -> Profile:
    """The member's profile when `actor` is that member or staff; 404 otherwise (another
    member's id tells nothing, not even that it exists). Staff need their staff MFA."""
    if member is None or not (actor.pk == member.pk or actor.is_staff):
        raise NotFound()
    if actor.pk != member.pk and (problem := staff.mfa_problem(actor)):
        raise problem
    return profile_services.profile_for_member(user=member)


def profile_complete(
    *,
    actor: User,
    profile: Profile,
    sections: dict[str, dict[str, Any]],
    ip: str | None = None,
) -> Profile:
    """Write every section at once, then queue the member for verification. `profile` comes
    from `member_profile_for`, which the caller asks before reading the body; staff edits
    follow `profiles.services.staff_edit_check` and are audited."""
    with transaction.atomic():
        profile = profile_services.profile_update(
            profile=profile, sections=sections, editor=actor, ip=ip
        )
        profile_services.profile_submit(profile=profile)
    found = profile_selectors.own_profile(user=profile.user)
    assert found is not None
    return found


def verification_status(*, actor: User, member: User | None) -> dict[str, Any]:
    profile = member_profile_for(actor=actor, member=member)
    return {
        "admin_approved": profile.user.admin_approved,
        "verification_status": profile.verification_status,
        "admin_notes": profile.admin_notes,
        "submitted_at": profile.submitted_at,
        "reviewed_at": profile.reviewed_at,
    }


def verification_problem(
    *, reviewer: User, profile: Profile, approved: bool, notes: str
) -> DomainError | None:
    """Why this decision may not be taken, or None. The admin's form asks it too, so the
    moderator sees the reason on the page instead of a false "changed successfully"."""
    duty = staff.act_problem(actor=reviewer, target=profile.user, change=staff.Change.VERIFY)
    if duty is not None:
        return duty
    if (pending := profile_services.decision_problem(profile)) is not None:
        return pending
    if not approved and not notes.strip():
        return Invalid(
            "Say why the profile is rejected: the member reads the notes.",
            "notes_required",
        )
    return None


def verification_decide(
    *,
    reviewer: User,
    member: User | None,
    approved: bool,
    notes: str = "",
    ip: str | None = None,
) -> Profile:
    """A moderator approves (the member becomes visible) or rejects (the member may edit and
    resubmit). Audited; the member is notified."""
    profile = member_profile_for(actor=reviewer, member=member)
    # Separation of duties first, audited, before the decision's transaction.
    staff.act_check(actor=reviewer, target=profile.user, change=staff.Change.VERIFY, ip=ip)
    problem = verification_problem(
        reviewer=reviewer, profile=profile, approved=approved, notes=notes
    )
    if problem is not None:
        raise problem
    with transaction.atomic():
        profile = profile_services.verification_record(
            profile=profile, reviewer=reviewer, approved=approved, notes=notes.strip()
        )
        accounts_services.audit_record(
            action=AuditAction.VERIFICATION_DECISION,
            actor=reviewer,
            target=profile.user,
            ip=ip,
            metadata={"approved": approved, "notes": notes.strip()[:500]},
        )
        if approved:
            notify(
                recipient=profile.user,
                kind=Kind.VERIFICATION_APPROVED,
                title="Your profile is approved",
                body="Members can now find you. Welcome to Aurum!",
            )
        else:
            notify(
                recipient=profile.user,
                kind=Kind.VERIFICATION_REJECTED,
                title="Your profile needs changes",
                body=f"A moderator says: {notes.strip()} Edit your profile and submit it again.",
                data={"notes": notes.strip()},
            )
    return profile
