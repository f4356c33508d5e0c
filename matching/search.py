"""Search: every filter of the API guide over the profiles the visibility rule allows, by keyset.

The filters are plain equality and range conditions on profile columns (education and income
on their sections), so the search indexes in `profiles.models` serve them; see the README's
"Search at a million profiles" for the plans PostgreSQL picks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

import policy
from accounts.models import User
from aurum.errors import Conflict, DomainError
from aurum.pagination import Keyset, KeysetPage
from aurum.statements import Statements
from matching.models import Ignore
from profiles import selectors as profile_selectors

if TYPE_CHECKING:
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

# range filter name -> its lookup; with the age range's two date-of-birth bounds, every bound.
BOUND_FILTERS = {
    "height_min": "height_cm__gte",
    "height_max": "height_cm__lte",
    "income_min": "career__annual_income_inr__gte",
}
BOUNDS = ("date_of_birth__lte", "date_of_birth__gt", *BOUND_FILTERS.values())


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
    gender = profile_selectors.gender_of(viewer.pk)
    if gender not in OPPOSITE:
        raise profile_incomplete()
    return OPPOSITE[gender]


def profile_incomplete() -> DomainError:
    return Conflict("Add your gender to your profile to see members.", "profile_incomplete")


def sought_gender_sql(viewer: User) -> Subquery:
    """`sought_gender` inside the statement that uses it (one query fewer per page); NULL,
    so nothing matches, for a member without a gender."""
    whens = [When(gender=mine, then=Value(other)) for mine, other in OPPOSITE.items()]
    return Subquery(
        profile_selectors.profile_row(viewer.pk).values(sought=Case(*whens, default=Value(None)))
    )


def candidates(
    *, viewer: User, gender: str | Subquery, where: Q | None = None
) -> QuerySet[Profile]:
    """Whom search and feed may list: the visibility rule, the gender sought, minus the
    members `viewer` ignores; and `where`, when given."""
    condition = Q(gender=gender, date_of_birth__isnull=False) & ~Q(
        pk__in=Ignore.objects.filter(owner=viewer).values("target")
    )
    return policy.visible_profiles(viewer=viewer).filter(
        condition if where is None else condition & where
    )


def search_values(filters: dict[str, Any], today: date) -> dict[str, Any]:
    """The filters of a validated `SearchQuery` as values for `search_condition`: each bound
    under its lookup, each list under its filter's name (as a tuple)."""
    values: dict[str, Any] = born_between(filters.get("age_min"), filters.get("age_max"), today)
    for name, lookup in BOUND_FILTERS.items():
        if filters.get(name) is not None:
            values[lookup] = filters[name]
    for name in LIST_COLUMNS:
        if filters.get(name):
            values[name] = tuple(filters[name])
    # verified_only: every member search can list is verified already (approval is what makes
    # a member visible), so the filter is always satisfied.
    return values


def search_condition(values: Mapping[str, Any]) -> Q:
    """`search_values` as one condition on profiles."""
    condition = Q(**{lookup: values[lookup] for lookup in BOUNDS if lookup in values})
    for name, column in LIST_COLUMNS.items():
        if items := values.get(name):
            condition &= Q(**{column: items[0]} if len(items) == 1 else {f"{column}__in": items})
    return condition


def search_profiles(
    *, viewer: User, values: Mapping[str, Any], with_photo: bool
) -> QuerySet[Profile]:
    """The profiles matching `values` (from `search_values`), unordered."""
    rows = candidates(
        viewer=viewer, gender=sought_gender_sql(viewer), where=search_condition(values)
    )
    return policy.with_photo(rows) if with_photo else rows


# The statement of a search page is compiled once per shape (which filters, how many values
# each, ordering, direction, size) and run with each request's values: building and compiling
# it cost more than PostgreSQL takes to run it (README, "Search at a million profiles").
SEARCH_PAGES = Statements("search page")


def search_page(*, viewer: User, filters: dict[str, Any]) -> KeysetPage:
    """One page of search results, as rows of card values: found on the profile row alone
    (the search indexes), then widened to cards for just that page, in one statement."""
    keyset = ORDERINGS[filters["ordering"]]
    cursor = filters.get("cursor")
    after, reverse = keyset.decode(cursor) if cursor else (None, False)
    size, with_photo = filters["page_size"], bool(filters.get("with_photo"))
    values = {"viewer": viewer.pk, **search_values(filters, timezone.localdate())}
    if after is not None:
        values["after"] = tuple(after)
    active = viewer.is_active

    def build(values: Mapping[str, Any]) -> QuerySet[Any]:
        # The viewer is known here by id alone, so nothing else of the member (which would be
        # the same in every later request of this shape) can reach the statement.
        stand_in = User(pk=values["viewer"], is_active=active)
        rows = search_profiles(viewer=stand_in, values=values, with_photo=with_photo)
        return keyset.page_rows(
            rows,
            after=values.get("after"),
            reverse=reverse,
            size=size,
            fetch=policy.card_values,
        )

    shape = (filters["ordering"], reverse, size, with_photo, active)
    found = SEARCH_PAGES.rows(shape, values, build)
    page = keyset.page_of(found, size=size, reverse=reverse, cursor=cursor)
    if not page.rows:
        sought_gender(viewer)  # nothing found: say so if it is for want of a gender (409)
    return page
