from __future__ import annotations

from datetime import date
from typing import Any

from accounts.models import User
from accounts.tests.factories import UserFactory
from profiles.models import Career, Education, Family, PartnerPreferences, Profile

PROFILE_DEFAULTS: dict[str, Any] = {
    "gender": "female",
    "date_of_birth": date(1996, 4, 14),
    "height_cm": 162,
    "marital_status": "never_married",
    "religion": "hindu",
    "caste": "nair",
    "mother_tongue": "malayalam",
    "district": "thrissur",
    "about": "Software engineer in Kochi who loves Carnatic music and long drives by the sea.",
}


def sections_payload(**profile: Any) -> dict[str, Any]:
    """A complete-profile body that passes every rule."""
    basics = {**PROFILE_DEFAULTS, **profile}
    basics["date_of_birth"] = str(basics["date_of_birth"])
    return {
        "profile": basics,
        "education": {"level": "professional_bachelors", "field": "Computer Science"},
        "career": {
            "occupation": "it_software",
            "employer": "Infopark",
            "annual_income_inr": 1200000,
        },
        "family": {
            "family_type": "nuclear",
            "family_status": "middle_class",
            "siblings": "1 brother",
        },
        "preferences": {"age_min": 26, "age_max": 33, "religions": ["hindu"], "districts": []},
    }


def make_member(*, approved: bool = True, user: User | None = None, **profile: Any) -> Profile:
    """A member with every section filled in, approved unless told otherwise."""
    user = user or UserFactory(admin_approved=approved)
    if user.admin_approved != approved:
        User.objects.filter(pk=user.pk).update(admin_approved=approved)
        user.refresh_from_db()
    values = {**PROFILE_DEFAULTS, **profile}
    status = "Approved" if approved else "Pending"
    created = Profile.objects.create(user=user, verification_status=status, **values)
    Education.objects.create(profile=created, level="masters", field="Commerce")
    Career.objects.create(profile=created, occupation="government", annual_income_inr=900000)
    Family.objects.create(profile=created, family_type="joint")
    PartnerPreferences.objects.create(profile=created, age_min=25, age_max=35)
    return Profile.objects.select_related("user").get(pk=created.pk)


def make_groom(**kwargs: Any) -> Profile:
    values = {"date_of_birth": date(1993, 1, 2), "height_cm": 175, "caste": "ezhava", **kwargs}
    return make_member(gender="male", **values)
