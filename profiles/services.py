"""Writes to profiles: creation, section updates, the rules between fields, verification state."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from accounts import services as accounts_services
from accounts.models import User
from profiles.choices import LEGAL_MIN_AGE, MAX_AGE, CreatedBy, VerificationStatus, caste_belongs_to
from profiles.models import Career, Education, Family, PartnerPreferences, Profile
from profiles.selectors import age_on, section_or_none

SECTION_MODELS: dict[str, type] = {
    "education": Education,
    "career": Career,
    "family": Family,
    "preferences": PartnerPreferences,
}
USER_FIELDS = ("first_name", "last_name")
# Changing any of these after approval sends the member back to verification.
IDENTITY_FIELDS = ("first_name", "last_name", "date_of_birth", "gender")


def profile_create(
    *, user: User, created_by: str = CreatedBy.SELF, whatsapp: str | None = None
) -> Profile:
    return Profile.objects.create(user=user, created_by=created_by, whatsapp=whatsapp or None)


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


def profile_update(*, profile: Profile, sections: dict[str, dict[str, Any]]) -> Profile:
    """Apply validated sections (each possibly partial) in one transaction.

    The rules between fields are checked on the state after the change, so a partial update
    cannot sneak past them. A change of name, date of birth or gender on an approved member
    sends them back to the verification queue (and out of sight) until a moderator looks.
    Returns the profile with fresh sections.
    """
    user = profile.user
    incoming = dict(sections.get("profile") or {})
    user_changes = {f: incoming.pop(f) for f in USER_FIELDS if f in incoming}

    merged = {
        **_current(profile, ["religion", "caste", "date_of_birth", "gender"]),
        **incoming,
    }
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
        raise serializers.ValidationError(_nest(errors))

    identity_changed = any(
        f in user_changes and user_changes[f] != getattr(user, f) for f in USER_FIELDS
    ) or any(f in incoming and incoming[f] != getattr(profile, f) for f in IDENTITY_FIELDS)

    with transaction.atomic():
        if user_changes:
            for field, value in user_changes.items():
                setattr(user, field, value)
            user.save(update_fields=[*user_changes, "updated_at"])
        for field, value in incoming.items():
            setattr(profile, field, value)
        if identity_changed and profile.verification_status == VerificationStatus.APPROVED:
            _send_back_to_queue(profile)
        profile.save()
        for name, model in SECTION_MODELS.items():
            if name in sections:
                model.objects.update_or_create(profile=profile, defaults=sections[name])
    return Profile.objects.select_related(
        "user", "education", "career", "family", "preferences"
    ).get(pk=profile.pk)


def _nest(errors: dict[str, list[str]]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, messages in errors.items():
        section, _, field = key.partition(".")
        nested.setdefault(section, {})[field] = messages
    return nested


def _send_back_to_queue(profile: Profile) -> None:
    profile.verification_status = VerificationStatus.PENDING
    profile.submitted_at = timezone.now()
    profile.reviewed_at = None
    profile.admin_notes = "Identity details changed after approval."
    accounts_services.user_set_approved(user=profile.user, approved=False)


def profile_submit(*, profile: Profile) -> Profile:
    """Put the member in the verification queue (again, after a rejection or an edit)."""
    if profile.verification_status == VerificationStatus.APPROVED:
        return profile
    profile.verification_status = VerificationStatus.PENDING
    profile.submitted_at = timezone.now()
    profile.save(update_fields=["verification_status", "submitted_at", "updated_at"])
    return profile


def verification_record(
    *, profile: Profile, reviewer: User, approved: bool, notes: str = ""
) -> Profile:
    """Store a moderator's decision on the profile and the account's `admin_approved`."""
    with transaction.atomic():
        profile.verification_status = (
            VerificationStatus.APPROVED if approved else VerificationStatus.REJECTED
        )
        profile.reviewed_at = timezone.now()
        profile.reviewed_by = reviewer
        profile.admin_notes = notes
        profile.save(
            update_fields=[
                "verification_status",
                "reviewed_at",
                "reviewed_by",
                "admin_notes",
                "updated_at",
            ]
        )
        accounts_services.user_set_approved(user=profile.user, approved=approved)
    return profile


def profile_touch(*, profile: Profile) -> None:
    Profile.objects.filter(pk=profile.pk).update(last_active_at=timezone.now())
