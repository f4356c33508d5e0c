"""Search: every filter of API.md over the profiles the visibility rule allows, in keyset pages.

The filters are plain equality and range conditions on profile columns (education and income
on their sections), so the search indexes in `profiles.models` serve them; see the README's
"Search at a million profiles" for the plans PostgreSQL picks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from aurum.errors import ApiError
from aurum.pagination import Keyset
from matching.models import Ignore
from profiles import selectors as profile_selectors
from profiles.models import Profile

# ordering name -> keyset. Every ordering ends with the primary key, so it is total.
ORDERINGS: dict[str, Keyset] = {
    "recently_active": Keyset(("-last_active_at", "-user_id"), "recently_active"),
    "newest": Keyset(("-created_at", "-user_id"), "newest"),
    "age": Keyset(("-date_of_birth", "-user_id"), "age"),  # youngest first
    "-age": Keyset(("date_of_birth", "user_id"), "-age"),  # oldest first
}
OPPOSITE = {"female": "male", "male": "female"}

# filter name -> the column it matches (a list filter matches any of its values).
LIST_COLUMNS = {
    "religion": "religion",
    "caste": "caste",
    "district": "district",
    "mother_tongue": "mother_tongue",
    "marital_status": "marital_status",
    "education_level": "education__level",
    "star": "star",
}


def years_before(today: date, years: int) -> date:
    """The same day `years` earlier; 29 February becomes the 28th in a common year."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def born_between(age_min: int | None, age_max: int | None, today: date) -> dict[str, date]:
    """Date-of-birth bounds for an inclusive age range, as queryset filter arguments."""
    bounds: dict[str, date] = {}
    if age_min is not None:
        bounds["date_of_birth__lte"] = years_before(today, age_min)
    if age_max is not None:
        bounds["date_of_birth__gt"] = years_before(today, age_max + 1)
    return bounds


def sought_gender(viewer: User) -> str:
    """Members see the other gender; a member who has not said theirs cannot search yet."""
    gender = Profile.objects.filter(pk=viewer.pk).values_list("gender", flat=True).first()
    if gender not in OPPOSITE:
        raise ApiError("Add your gender to your profile to see members.", "profile_incomplete", 409)
    return OPPOSITE[gender]


def candidates(*, viewer: User, gender: str) -> QuerySet[Profile]:
    """Whom search and feed may list: the visibility rule, the gender sought, minus the
    members `viewer` ignores."""
    return (
        profile_selectors.visible_profiles(viewer=viewer)
        .filter(gender=gender, date_of_birth__isnull=False)
        .exclude(pk__in=Ignore.objects.filter(owner=viewer).values("target"))
    )


def search_profiles(*, viewer: User, filters: dict[str, Any]) -> QuerySet[Profile]:
    """The profiles matching `filters` (a validated `SearchQuery`), unordered."""
    rows = candidates(viewer=viewer, gender=sought_gender(viewer))
    rows = rows.filter(
        **born_between(filters.get("age_min"), filters.get("age_max"), timezone.localdate())
    )
    if filters.get("height_min") is not None:
        rows = rows.filter(height_cm__gte=filters["height_min"])
    if filters.get("height_max") is not None:
        rows = rows.filter(height_cm__lte=filters["height_max"])
    for name, column in LIST_COLUMNS.items():
        if filters.get(name):
            values = filters[name]
            rows = rows.filter(
                **({column: values[0]} if len(values) == 1 else {f"{column}__in": values})
            )
    if filters.get("income_min") is not None:
        rows = rows.filter(career__annual_income_inr__gte=filters["income_min"])
    if filters.get("with_photo"):
        rows = profile_selectors.with_photo(rows)
    # verified_only: every member search can list is verified already (approval is what makes
    # a member visible), so the filter is always satisfied.
    return rows
