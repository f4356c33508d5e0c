"""The two-way match score, computed by the database for every candidate at once.

Each preference is a criterion, asked both ways: *mine* (does the candidate fit what I look
for?) and *theirs* (do I fit what they look for?). A criterion the asking side left open
("any") counts as met. Each side's weights sum to 50, so the score is 0-100.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    IntegerField,
    Lookup,
    Q,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.utils import timezone

from matching.search import born_between
from profiles.selectors import age_on, section_or_none

if TYPE_CHECKING:
    from profiles.models import PartnerPreferences, Profile

# The weights, in one place: how much each preference counts, each way (each side sums to 50).
WEIGHTS: dict[str, int] = {
    "age": 10,
    "religion": 10,
    "caste": 6,
    "marital_status": 6,
    "height": 5,
    "mother_tongue": 4,
    "education": 3,
    "district": 3,
    "income": 2,
    "diet": 1,
}
assert sum(WEIGHTS.values()) == 50
NEVER = Q(pk__isnull=True)  # a condition no row meets (a primary key is never NULL)


class HasItem(Lookup):
    """`HasItem(F("json_list"), value)`: the JSON array holds `value` (PostgreSQL's `@>`;
    SQLite's json_each elsewhere). An expression, not a lookup registered on `JSONField`:
    registering would add `__has_item` to every JSON column of every app."""

    lookup_name = "has_item"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        return (
            f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)",  # noqa: S608 - lhs is a column
            [*params, self.rhs],
        )

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*params, json.dumps([self.rhs])]


@dataclass(frozen=True)
class Side:
    """One criterion asked one way: `met` is a condition over candidate rows, or None when the
    asking side left it open (met by everyone, and no reason to show)."""

    name: str
    met: Q | None
    open: Q | None = None  # theirs only: rows where the candidate left it open


def _list_pref(values: list[str], column: str) -> Q | None:
    return Q(**{f"{column}__in": values}) if values else None


def mine(prefs: PartnerPreferences | None) -> list[Side]:
    """What I look for, as conditions over the candidates."""
    if prefs is None:
        return [Side(name, None) for name in WEIGHTS]
    height = Q()
    if prefs.height_min_cm is not None:
        height &= Q(height_cm__gte=prefs.height_min_cm)
    if prefs.height_max_cm is not None:
        height &= Q(height_cm__lte=prefs.height_max_cm)
    return [
        Side("age", Q(**born_between(prefs.age_min, prefs.age_max, timezone.localdate()))),
        Side("religion", _list_pref(prefs.religions, "religion")),
        Side("caste", _list_pref(prefs.castes, "caste")),
        Side("marital_status", _list_pref(prefs.marital_statuses, "marital_status")),
        Side("height", height or None),
        Side("mother_tongue", _list_pref(prefs.mother_tongues, "mother_tongue")),
        Side("education", _list_pref(prefs.education_levels, "education__level")),
        Side("district", _list_pref(prefs.districts, "district")),
        Side(
            "income",
            Q(career__annual_income_inr__gte=prefs.income_min_inr)
            if prefs.income_min_inr is not None
            else None,
        ),
        Side("diet", Q(diet=prefs.diet) if prefs.diet else None),
    ]


def _their_list(name: str, column: str, mine_value: str | None) -> Side:
    column = f"preferences__{column}"
    opened = Q(**{column: []})
    met = Q(HasItem(F(column), mine_value)) if mine_value else NEVER
    return Side(name, met, opened)


def _their_bound(name: str, column: str, lookup: str, mine_value: int | None) -> Side:
    opened = Q(**{f"preferences__{column}__isnull": True})
    met = Q(**{f"preferences__{column}__{lookup}": mine_value}) if mine_value is not None else None
    return Side(name, met if met is not None else NEVER, opened)


def theirs(me: Profile) -> list[Side]:
    """What candidates look for, asked about me: conditions over their preferences. A
    candidate with no preferences at all is open to everything, as in `mine`."""
    age = age_on(me.date_of_birth)
    education = section_or_none(me, "education")
    career = section_or_none(me, "career")
    height_low = _their_bound("height", "height_min_cm", "lte", me.height_cm)
    height_high = _their_bound("height", "height_max_cm", "gte", me.height_cm)
    sides = [
        Side(
            "age",
            Q(preferences__age_min__lte=age, preferences__age_max__gte=age)
            if age is not None
            else NEVER,
        ),
        _their_list("religion", "religions", me.religion),
        _their_list("caste", "castes", me.caste),
        _their_list("marital_status", "marital_statuses", me.marital_status),
        Side(
            "height",
            (height_low.met | height_low.open) & (height_high.met | height_high.open),  # type: ignore[operator]
            height_low.open & height_high.open,  # type: ignore[operator]
        ),
        _their_list("mother_tongue", "mother_tongues", me.mother_tongue),
        _their_list("education", "education_levels", getattr(education, "level", None)),
        _their_list("district", "districts", me.district),
        _their_bound("income", "income_min_inr", "lte", getattr(career, "annual_income_inr", None)),
        Side(
            "diet",
            Q(preferences__diet=me.diet) if me.diet else NEVER,
            Q(preferences__diet__isnull=True),
        ),
    ]
    none = Q(preferences__isnull=True)
    return [Side(s.name, s.met, none if s.open is None else s.open | none) for s in sides]


def _flag(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def annotations(me: Profile) -> dict[str, Combinable]:
    """`match_score` and one boolean per criterion that matched and was asked (`mine_*`,
    `theirs_*`), which become `match_reasons`."""
    prefs = section_or_none(me, "preferences")
    score: list[Combinable] = []
    flags: dict[str, Combinable] = {}
    for side in mine(prefs):  # type: ignore[arg-type]
        weight = WEIGHTS[side.name]
        if side.met is None:
            score.append(Value(weight))
            continue
        score.append(Case(When(side.met, then=Value(weight)), default=Value(0)))
        flags[f"mine_{side.name}"] = _flag(side.met)
    for side in theirs(me):
        weight = WEIGHTS[side.name]
        met_or_open = side.met if side.open is None else side.met | side.open  # type: ignore[operator]
        score.append(Case(When(met_or_open, then=Value(weight)), default=Value(0)))
        asked = side.met if side.open is None else side.met & ~side.open  # type: ignore[operator]
        flags[f"theirs_{side.name}"] = _flag(asked)
    total: Combinable = score[0]
    for part in score[1:]:
        total = total + part  # type: ignore[operator]
    return {"match_score": ExpressionWrapper(total, output_field=IntegerField()), **flags}


@dataclass(frozen=True)
class Criterion:
    """A criterion that a candidate may fail, costing `weight` points: each that I asked,
    and each of theirs (their own preferences decide). `earns` is the condition under which
    the candidate gets its points."""

    weight: int
    earns: Q


def criteria(me: Profile) -> list[Criterion]:
    """Every way a candidate can fall short of 100 against `me`, heaviest first; a score is
    100 minus the weights of the criteria a candidate fails."""
    prefs = section_or_none(me, "preferences")
    found = [Criterion(WEIGHTS[s.name], s.met) for s in mine(prefs) if s.met is not None]  # type: ignore[arg-type]
    found += [
        Criterion(WEIGHTS[s.name], s.met if s.open is None else s.met | s.open)  # type: ignore[operator]
        for s in theirs(me)
    ]
    return sorted(found, key=lambda c: -c.weight)


def within(found: list[Criterion], budget: int) -> Q:
    """A condition every candidate scoring at least `100 - budget` meets: failing any
    criterion heavier than `budget` costs more than that. PostgreSQL reads the candidates it
    admits through the search index, which is what makes a feed of a million fast."""
    condition = Q()
    for criterion in found:
        if criterion.weight > budget:
            condition &= criterion.earns
    return condition


def reasons(row: dict[str, Any]) -> dict[str, list[str]]:
    """From a row carrying the `annotations` flags."""
    return {
        side: [name for name in WEIGHTS if row.get(f"{side}_{name}")] for side in ("mine", "theirs")
    }
