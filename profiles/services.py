"""Writes to profiles: creation, section updates, the rules between fields, verification state."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import services as accounts_services
from accounts import staff
from accounts.models import AuditAction, User
from aurum.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from notifications.choices import Kind
from notifications.services import notify
from policy import can_act
from profiles import signals
from profiles.choices import LEGAL_MIN_AGE, MAX_AGE, CreatedBy, VerificationStatus, caste_belongs_to
from profiles.models import LISTED, Career, Education, Family, PartnerPreferences, Profile
from profiles.selectors import age_on, own_profile, section_or_none

SECTION_MODELS: dict[str, type] = {
    "education": Education,
    "career": Career,
    "family": Family,
    "preferences": PartnerPreferences,
}
USER_FIELDS = ("first_name", "last_name")
# Changing any of these after approval sends the member back to verification.
IDENTITY_FIELDS = ("first_name", "last_name", "date_of_birth", "gender")
# Contact details in the profile sections: only the member changes them (staff never do).
CONTACT_FIELDS = ("whatsapp",)
# Who may see the member or their photos: a change is announced (signals.profile_privacy_changed).
PRIVACY_FIELDS = ("photo_visibility", "is_hidden")
# The fields `LISTED` reads, taken from it: a write that touches none of them leaves it as is.
LISTED_FIELDS = frozenset(name for name, _ in LISTED.children)


def profile_create(
    *, user: User, created_by: str = CreatedBy.SELF, whatsapp: str | None = None
) -> Profile:
    # Announces nothing: a new, unsubmitted profile is in no cached feed and has none itself.
    return Profile.objects.create(user=user, created_by=created_by, whatsapp=whatsapp or None)


def profile_for_member(*, user: User) -> Profile:
    """The member's profile, made empty on first use for accounts that signed up through
    `auth/register` rather than onboarding. Staff accounts have none: 404 `no_profile`."""
    profile = own_profile(user=user)
    if profile is not None:
        return profile
    if user.is_staff:
        raise NotFound("Staff accounts have no member profile.", "no_profile")
    Profile.objects.get_or_create(user=user)
    found = own_profile(user=user)
    assert found is not None
    return found


def _listed(profile_id: Any) -> bool:
    """Whether the stored row is `LISTED`: the one definition of it, asked of the database."""
    return Profile.objects.filter(LISTED, pk=profile_id).exists()


def _save_announced(profile: Profile, fields: list[str]) -> None:
    """Save `fields` of the locked row; after the commit, announce the change
    (`signals.profile_changed`) and, when this write changed whether others may see the
    profile, that too (`signals.profile_listed_changed`, from the row before and after)."""
    watched = bool(LISTED_FIELDS & set(fields))
    was = _listed(profile.pk) if watched else None
    profile.save(update_fields=[*fields, "updated_at"])
    now = _listed(profile.pk) if watched else None
    profile_id = profile.pk

    def announce() -> None:
        signals.profile_changed.send(sender=Profile, profile_id=profile_id)
        if was != now:
            signals.profile_listed_changed.send(sender=Profile, profile_id=profile_id, listed=now)

    transaction.on_commit(announce, robust=True)


def _profile_rule_errors(values: dict[str, Any], today: date | None = None) -> dict[str, list[str]]:
    """The rules between a profile's fields, over the state after the change."""
    errors: dict[str, list[str]] = {}
    religion, caste = values.get("religion"), values.get("caste")
    if caste and religion and not caste_belongs_to(caste, religion):
        errors["caste"] = [f"'{caste}' is not a community of the religion '{religion}'."]
    if caste and not religion:
        errors["religion"] = ["Give the religion the community belongs to."]
    born, gender = values.get("date_of_birth"), values.get("gender")
    age = age_on(born, today)
    if age is not None:
        if age > MAX_AGE:
            errors["date_of_birth"] = [f"Members are at most {MAX_AGE} years old."]
        elif gender and age < LEGAL_MIN_AGE[gender]:
            errors["date_of_birth"] = [
                f"The legal minimum age to marry in India is {LEGAL_MIN_AGE[gender]} for a "
                f"{'bride' if gender == 'female' else 'groom'}."
            ]
        elif age < min(LEGAL_MIN_AGE.values()):
            errors["date_of_birth"] = ["Members must be of legal age to marry."]
    return errors


def _preference_rule_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if values.get("age_min") is not None and values.get("age_max") is not None:
        if values["age_min"] > values["age_max"]:
            errors["age_min"] = ["The youngest age cannot be above the oldest."]
    low, high = values.get("height_min_cm"), values.get("height_max_cm")
    if low is not None and high is not None and low > high:
        errors["height_min_cm"] = ["The shortest height cannot be above the tallest."]
    return errors


def _current(instance: Any, fields: list[str]) -> dict[str, Any]:
    return {f: getattr(instance, f) for f in fields} if instance is not None else {}


def _changed_fields(profile: Profile, user: User, sections: dict[str, dict[str, Any]]) -> list[str]:
    """`section.field` for each value `sections` would change, read from the stored rows."""
    changed = []
    for field, value in (sections.get("profile") or {}).items():
        current = getattr(user if field in USER_FIELDS else profile, field)
        if value != current:
            changed.append(f"profile.{field}")
    for name in SECTION_MODELS:
        stored = section_or_none(profile, name)
        for field, value in (sections.get(name) or {}).items():
            if stored is None or value != getattr(stored, field):
                changed.append(f"{name}.{field}")
    return sorted(changed)


def staff_edit_check(
    *, editor: User, profile: Profile, sections: dict[str, dict[str, Any]], ip: str | None = None
) -> None:
    """Staff editing a member's profile: moderators act on members only, and never on their
    contact details, which only the member changes (the contact rule lets staff read them;
    a number changed by staff would reach the member's accepted contacts as hers)."""
    member = profile.user
    staff.act_check(actor=editor, target=member, change=staff.Change.PROFILE_EDIT, ip=ip)
    contact = [
        f"profile.{f}"
        for f in CONTACT_FIELDS
        if f in (sections.get("profile") or {}) and sections["profile"][f] != getattr(profile, f)
    ]
    if contact:
        problem = Forbidden(
            "Only the member changes their contact details.",
            "contact_details_member_only",
        )
        raise staff.refuse(
            problem, actor=editor, target=member, change=staff.Change.PROFILE_EDIT, ip=ip
        )


def profile_update(
    *,
    profile: Profile,
    sections: dict[str, dict[str, Any]],
    editor: User | None = None,
    ip: str | None = None,
) -> Profile:
    """Apply validated sections (each possibly partial) in one transaction.

    The row is locked and re-read first, so a moderator's decision landing meanwhile is
    neither overwritten nor missed, and only the fields sent are written. The rules between
    fields are checked on the state after the change, so a partial update cannot sneak past
    them. A change of name, date of birth or gender on an approved member sends them back to
    the verification queue (and out of sight) until a moderator looks. A change of who may
    see the member or their photos is announced inside the transaction; the write itself, and
    whether it hid or showed the member, after the commit (`_save_announced`).

    `editor` is who makes the change when it is not the member: staff, under
    `staff_edit_check`, and audited with the fields they changed.
    """
    by_staff = editor is not None and editor.pk != profile.pk
    if by_staff:
        assert editor is not None
        staff_edit_check(editor=editor, profile=profile, sections=sections, ip=ip)
    incoming = dict(sections.get("profile") or {})
    user_changes = {f: incoming.pop(f) for f in USER_FIELDS if f in incoming}
    with transaction.atomic():
        locked = Profile.objects.select_for_update().get(pk=profile.pk)
        user = User.objects.select_for_update().get(pk=profile.pk)
        _check_rules(locked, incoming, sections)
        if by_staff:
            accounts_services.audit_record(
                action=AuditAction.PROFILE_EDITED_BY_STAFF,
                actor=editor,
                target=user,
                ip=ip,
                metadata={"fields": _changed_fields(locked, user, sections)},
            )
        identity_changed = any(user_changes[f] != getattr(user, f) for f in user_changes) or any(
            incoming[f] != getattr(locked, f) for f in IDENTITY_FIELDS if f in incoming
        )
        privacy_changed = [
            f for f in PRIVACY_FIELDS if f in incoming and incoming[f] != getattr(locked, f)
        ]
        if user_changes:
            for field, value in user_changes.items():
                setattr(user, field, value)
            user.save(update_fields=[*user_changes, "updated_at"])
        for field, value in incoming.items():
            setattr(locked, field, value)
        changed = list(incoming)
        if identity_changed and locked.verification_status == VerificationStatus.APPROVED:
            changed += _send_back_to_queue(locked, user)
        _save_announced(locked, changed)
        if privacy_changed:
            signals.profile_privacy_changed.send(
                sender=Profile, profile=locked, fields=privacy_changed
            )
        for name, model in SECTION_MODELS.items():
            if name in sections:
                model.objects.update_or_create(profile=locked, defaults=sections[name])
    found = own_profile(user=user)
    assert found is not None
    return found


def _check_rules(
    profile: Profile, incoming: dict[str, Any], sections: dict[str, dict[str, Any]]
) -> None:
    merged = {**_current(profile, ["religion", "caste", "date_of_birth", "gender"]), **incoming}
    errors = {f"profile.{k}": v for k, v in _profile_rule_errors(merged).items()}
    existing_prefs = section_or_none(profile, "preferences")
    if "preferences" in sections:
        prefs = {
            **_current(existing_prefs, ["age_min", "age_max", "height_min_cm", "height_max_cm"]),
            **sections["preferences"],
        }
        errors.update({f"preferences.{k}": v for k, v in _preference_rule_errors(prefs).items()})
        if existing_prefs is None and {"age_min", "age_max"} - set(prefs):
            errors["preferences.age_min"] = ["Give the age range first."]
    for name in ("education", "career"):
        if name in sections and section_or_none(profile, name) is None:
            required = {"education": "level", "career": "occupation"}[name]
            if required not in sections[name]:
                errors[f"{name}.{required}"] = ["This field is required."]
    if errors:
        raise Invalid(fields=_nest(errors))


def _nest(errors: dict[str, list[str]]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, messages in errors.items():
        section, _, field = key.partition(".")
        nested.setdefault(section, {})[field] = messages
    return nested


def _send_back_to_queue(profile: Profile, user: User) -> list[str]:
    profile.verification_status = VerificationStatus.PENDING
    profile.submitted_at = timezone.now()
    profile.reviewed_at = None
    profile.reviewed_by = None
    profile.admin_notes = "Identity details changed after approval."
    accounts_services.user_set_approved(user=user, approved=False)
    return ["verification_status", "submitted_at", "reviewed_at", "reviewed_by", "admin_notes"]


def profile_submit(*, profile: Profile) -> Profile:
    """Put the member in the verification queue: after completing the profile, or again after
    a rejection. A member already waiting keeps their place."""
    with transaction.atomic():
        locked = Profile.objects.select_for_update().get(pk=profile.pk)
        if locked.verification_status in (VerificationStatus.APPROVED, VerificationStatus.PENDING):
            return locked
        locked.verification_status = VerificationStatus.PENDING
        locked.submitted_at = timezone.now()
        locked.reviewed_at = None
        locked.reviewed_by = None
        locked.admin_notes = ""
        _save_announced(
            locked,
            ["verification_status", "submitted_at", "reviewed_at", "reviewed_by", "admin_notes"],
        )
    return locked


def decision_problem(profile: Profile) -> DomainError | None:
    """Only a pending profile is decided: the rule the API, the admin's form and the locked
    write all ask."""
    if profile.verification_status != VerificationStatus.PENDING:
        return Conflict(
            f"Only a pending profile can be decided; this one is {profile.verification_status}.",
            "not_pending",
        )
    return None


def verification_record(
    *, profile: Profile, reviewer: User, approved: bool, notes: str = ""
) -> Profile:
    """Store a moderator's decision on a pending profile and the account's `admin_approved`.

    The row is locked, and only a pending profile is decided: two moderators deciding at once
    (or a decision racing the member's edit) end in one decision, the other gets 409.
    """
    with transaction.atomic():
        locked = Profile.objects.select_for_update().select_related("user").get(pk=profile.pk)
        if (problem := decision_problem(locked)) is not None:
            raise problem
        locked.verification_status = (
            VerificationStatus.APPROVED if approved else VerificationStatus.REJECTED
        )
        locked.reviewed_at = timezone.now()
        locked.reviewed_by = reviewer
        locked.admin_notes = notes
        _save_announced(
            locked, ["verification_status", "reviewed_at", "reviewed_by", "admin_notes"]
        )
        accounts_services.user_set_approved(user=locked.user, approved=approved)
    return locked


def profile_touch(*, user_id: Any) -> None:
    """The member was active now (a login or a token refresh: at least every 15 minutes while
    the app is in use). A profile the schedule hid for inactivity comes back."""
    touched = Profile.objects.filter(pk=user_id, hidden_for_inactivity=False).update(
        last_active_at=timezone.now()
    )
    if not touched:  # no profile, or one the schedule hid: only then a second statement
        Profile.objects.filter(pk=user_id).update(last_active_at=timezone.now())
        _set_inactive(user_id, hidden=False)


def _set_inactive(user_id: Any, *, hidden: bool, still: Q | None = None) -> bool:
    """Hide (or bring back) a profile for inactivity, announced as any change of `is_hidden`
    is. Only a profile in the expected state moves (and, hiding, one still matching `still`
    under the lock: a login meanwhile keeps it listed); a member's own hibernation stays."""
    with transaction.atomic():
        locked = (
            Profile.objects.select_for_update()
            .filter(pk=user_id, hidden_for_inactivity=not hidden, is_hidden=not hidden)
            .filter(still or Q())
            .first()
        )
        if locked is None:
            return False
        locked.is_hidden = locked.hidden_for_inactivity = hidden
        _save_announced(locked, ["is_hidden", "hidden_for_inactivity"])
        signals.profile_privacy_changed.send(sender=Profile, profile=locked, fields=["is_hidden"])
    return True


def inactive_warn(*, limit: int = 1000) -> int:
    """Tell members who will be hidden in INACTIVITY_NOTICE_DAYS that logging in keeps their
    profile listed; once per stretch of inactivity (a later login starts a new one)."""
    now = timezone.now()
    days = settings.INACTIVITY_HIDE_DAYS - settings.INACTIVITY_NOTICE_DAYS
    due = (
        Profile.objects.filter(
            LISTED,
            last_active_at__lt=now - timedelta(days=days),
            user__is_active=True,
        )
        .filter(
            Q(inactivity_warned_at__isnull=True) | Q(inactivity_warned_at__lt=F("last_active_at"))
        )
        .select_related("user")
        .order_by("last_active_at")[:limit]
    )
    warned = 0
    for profile in due:
        with transaction.atomic():
            if (
                not Profile.objects.filter(pk=profile.pk)
                .filter(
                    Q(inactivity_warned_at__isnull=True)
                    | Q(inactivity_warned_at__lt=F("last_active_at"))
                )
                .update(inactivity_warned_at=now)
            ):
                continue  # another run, or a login, came first
            # Hidden a full notice after this warning at the earliest, however late it comes.
            hide_on = max(
                profile.last_active_at + timedelta(days=settings.INACTIVITY_HIDE_DAYS),
                now + timedelta(days=settings.INACTIVITY_NOTICE_DAYS),
            ).astimezone(ZoneInfo(settings.MEMBER_TIME_ZONE))
            notify(
                recipient=profile.user,
                kind=Kind.INACTIVITY_NOTICE,
                title="Your profile will be hidden soon",
                body=(
                    f"You have not signed in to Aurum for {(now - profile.last_active_at).days} "
                    "days. On "
                    f"{hide_on:%-d %B %Y} your profile stops showing in search and matches; "
                    "sign in before then to keep it listed, or any time later to bring it back."
                ),
            )
        warned += 1
    return warned


def inactive_hide(*, limit: int = 1000) -> int:
    """Hide members inactive for INACTIVITY_HIDE_DAYS who were warned at least
    INACTIVITY_NOTICE_DAYS ago (and not active since)."""
    now = timezone.now()
    inactive = Q(
        LISTED,
        last_active_at__lt=now - timedelta(days=settings.INACTIVITY_HIDE_DAYS),
        inactivity_warned_at__lte=now - timedelta(days=settings.INACTIVITY_NOTICE_DAYS),
        inactivity_warned_at__gt=F("last_active_at"),
    )
    due = Profile.objects.filter(inactive).values_list("pk", flat=True)[:limit]
    return sum(_set_inactive(user_id, hidden=True, still=inactive) for user_id in list(due))


def not_visible(doing: str) -> DomainError:
    """The refusal to a member who is not visible (`policy.can_act`) acting on another:
    they know their own state, so saying why leaks nothing."""
    return Forbidden(
        f"Your profile must be approved and visible before you can {doing}.",
        "profile_not_visible",
    )


def require_can_act(*, member: User, doing: str) -> None:
    """403 `profile_not_visible` unless `member` may act on others (`policy.can_act`)."""
    if not can_act(member=member):
        raise not_visible(doing)
