"""Search: every filter of API.md over the profiles the visibility rule allows, in keyset pages.

The filters are plain equality and range conditions on profile columns (education and income
on their sections), so the search indexes in `profiles.models` serve them; see the README's
"Search at a million profiles" for the plans PostgreSQL picks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Case, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from accounts.models import User
from aurum.errors import ApiError
from aurum.pagination import Keyset, KeysetPage
from matching.models import Ignore
from profiles import selectors as profile_selectors
from profiles.models import Profile

# ordering name -> keyset. Every ordering ends with the primary key, so it is total.
ORDERINGS: dict[str, Keyset] = {
    "recently_active": Keyset(("-last_active_at", "-user_id"), ("moment", "uuid"), "active"),
    "newest": Keyset(("-created_at", "-user_id"), ("moment", "uuid"), "newest"),
    "age": Keyset(("-date_of_birth", "-user_id"), ("date", "uuid"), "age"),  # youngest first
    "-age": Keyset(("date_of_birth", "user_id"), ("date", "uuid"), "-age"),  # oldest first
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
        raise profile_incomplete()
    return OPPOSITE[gender]


def profile_incomplete() -> ApiError:
    return ApiError("Add your gender to your profile to see members.", "profile_incomplete", 409)


def sought_gender_sql(viewer: User) -> Subquery:
    """`sought_gender` inside the statement that uses it (one query fewer per page); NULL,
    so nothing matches, for a member without a gender."""
    whens = [When(gender=mine, then=Value(other)) for mine, other in OPPOSITE.items()]
    return Subquery(
        Profile.objects.filter(pk=viewer.pk).values(sought=Case(*whens, default=Value(None)))
    )


def candidates(
    *, viewer: User, gender: str | Subquery, where: Q | None = None
) -> QuerySet[Profile]:
    """Whom search and feed may list: the visibility rule, the gender sought, minus the
    members `viewer` ignores; and `where`, when given."""
    condition = Q(gender=gender, date_of_birth__isnull=False) & ~Q(
        pk__in=Ignore.objects.filter(owner=viewer).values("target")
    )
    return profile_selectors.visible_profiles(viewer=viewer).filter(
        condition if where is None else condition & where
    )


def search_condition(filters: dict[str, Any]) -> Q:
    """The filters of a validated `SearchQuery` as one condition on profiles."""
    condition = Q(
        **born_between(filters.get("age_min"), filters.get("age_max"), timezone.localdate())
    )
    if filters.get("height_min") is not None:
        condition &= Q(height_cm__gte=filters["height_min"])
    if filters.get("height_max") is not None:
        condition &= Q(height_cm__lte=filters["height_max"])
    for name, column in LIST_COLUMNS.items():
        if values := filters.get(name):
            condition &= Q(**{column: values[0]} if len(values) == 1 else {f"{column}__in": values})
    if filters.get("income_min") is not None:
        condition &= Q(career__annual_income_inr__gte=filters["income_min"])
    # verified_only: every member search can list is verified already (approval is what makes
    # a member visible), so the filter is always satisfied.
    return condition


def search_profiles(*, viewer: User, filters: dict[str, Any]) -> QuerySet[Profile]:
    """The profiles matching `filters` (a validated `SearchQuery`), unordered."""
    rows = candidates(
        viewer=viewer, gender=sought_gender_sql(viewer), where=search_condition(filters)
    )
    if filters.get("with_photo"):
        rows = profile_selectors.with_photo(rows)
    return rows


def search_page(*, viewer: User, filters: dict[str, Any]) -> KeysetPage:
    """One page of search results, as rows of card values: found on the profile row alone
    (the search indexes), then widened to cards for just that page, in one statement."""
    page = ORDERINGS[filters["ordering"]].page(
        search_profiles(viewer=viewer, filters=filters),
        cursor=filters.get("cursor"),
        size=filters["page_size"],
        fetch=profile_selectors.card_values,
    )
    if not page.rows:
        sought_gender(viewer)  # nothing found: say so if it is for want of a gender (409)
    return page
