"""Onboarding: signup, completing the profile, and moderators' verification decisions."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import services as accounts_services
from accounts.models import AuditAction, User
from aurum.errors import ApiError
from onboarding.signals import verification_decided
from profiles import selectors as profile_selectors
from profiles import services as profile_services
from profiles.choices import CreatedBy, VerificationStatus
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


def _member_profile_for(actor: User, member: User | None) -> Profile:
    """The member's profile when `actor` is that member or staff; 404 otherwise (another
    member's id tells nothing, not even that it exists)."""
    if member is None or not (actor.pk == member.pk or actor.is_staff):
        raise ApiError("Not found.", "not_found", 404)
    try:
        return profile_selectors.own_profile(user=member)
    except Profile.DoesNotExist as exc:
        raise ApiError("This account has no member profile.", "not_found", 404) from exc


def profile_complete(
    *, actor: User, member: User | None, sections: dict[str, dict[str, Any]]
) -> Profile:
    """Write every section at once, then queue the member for verification."""
    profile = _member_profile_for(actor, member)
    with transaction.atomic():
        profile = profile_services.profile_update(profile=profile, sections=sections)
        profile_services.profile_submit(profile=profile)
    return profile


def verification_status(*, actor: User, member: User | None) -> dict[str, Any]:
    profile = _member_profile_for(actor, member)
    return {
        "admin_approved": profile.user.admin_approved,
        "verification_status": profile.verification_status,
        "admin_notes": profile.admin_notes,
        "submitted_at": profile.submitted_at,
        "reviewed_at": profile.reviewed_at,
    }


def verification_decide(
    *,
    reviewer: User,
    member: User | None,
    approved: bool,
    notes: str = "",
    ip: str | None = None,
) -> Profile:
    """A moderator approves (the member becomes visible) or rejects (the member may edit and
    resubmit). Audited; the member hears about it through `verification_decided`."""
    if not reviewer.is_staff:
        raise ApiError("Staff only.", "permission_denied", 403)
    profile = _member_profile_for(reviewer, member)
    if profile.verification_status == VerificationStatus.NOT_SUBMITTED:
        raise ApiError("The member has not submitted the profile yet.", "not_submitted", 409)
    if not approved and not notes.strip():
        raise ApiError(
            "Say why the profile is rejected: the member reads the notes.", "notes_required", 400
        )
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
        transaction.on_commit(
            lambda: verification_decided.send(
                sender=Profile, profile=profile, approved=approved, notes=notes
            )
        )
    return profile
