"""The two-way match score, computed by the database for every candidate at once.

Each preference is a criterion, asked both ways: *mine* (does the candidate fit what I look
for?) and *theirs* (do I fit what they look for?). A criterion the asking side left open
("any") counts as met. Each side's weights sum to 50, so the score is 0-100.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
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

from aurum.statements import padded
from matching.search import OPPOSITE, born_between
from profiles.selectors import age_on, section_or_none

if TYPE_CHECKING:
    from profiles.models import Profile

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


LISTS = (
    "religions",
    "castes",
    "marital_statuses",
    "mother_tongues",
    "education_levels",
    "districts",
)


@dataclass(frozen=True)
class Wants:
    """What a member looks for, as plain values: the birth dates their age range admits
    (worked out for today), and their lists and bounds (a list left empty is open)."""

    born_lte: date
    born_gt: date
    religions: tuple[str, ...] = ()
    castes: tuple[str, ...] = ()
    marital_statuses: tuple[str, ...] = ()
    mother_tongues: tuple[str, ...] = ()
    education_levels: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    height_min_cm: int | None = None
    height_max_cm: int | None = None
    income_min_inr: int | None = None
    diet: str | None = None


@dataclass(frozen=True)
class Me:
    """The member a feed is for, as the plain values the score asks of them, so that a feed
    statement is built from values alone (`values`, `from_values`: compiled once per shape,
    aurum.statements). `age` is worked out for today."""

    id: Any
    sought: str
    age: int | None = None
    religion: str | None = None
    caste: str | None = None
    marital_status: str | None = None
    height_cm: int | None = None
    mother_tongue: str | None = None
    education: str | None = None
    district: str | None = None
    income: int | None = None
    diet: str | None = None
    wants: Wants | None = field(default=None)

    @classmethod
    def of(cls, profile: Profile, today: date) -> Me:
        prefs = section_or_none(profile, "preferences")
        education = section_or_none(profile, "education")
        career = section_or_none(profile, "career")
        wants = None
        if prefs is not None:
            born = born_between(prefs.age_min, prefs.age_max, today)  # type: ignore[attr-defined]
            wants = Wants(
                born_lte=born["date_of_birth__lte"],
                born_gt=born["date_of_birth__gt"],
                **{name: tuple(getattr(prefs, name) or ()) for name in LISTS},
                height_min_cm=prefs.height_min_cm,  # type: ignore[attr-defined]
                height_max_cm=prefs.height_max_cm,  # type: ignore[attr-defined]
                income_min_inr=prefs.income_min_inr,  # type: ignore[attr-defined]
                diet=prefs.diet or None,  # type: ignore[attr-defined]
            )
        return cls(
            id=profile.pk,
            sought=OPPOSITE[profile.gender],
            age=age_on(profile.date_of_birth, today),
            religion=profile.religion or None,
            caste=profile.caste or None,
            marital_status=profile.marital_status or None,
            height_cm=profile.height_cm,
            mother_tongue=profile.mother_tongue or None,
            education=getattr(education, "level", None) or None,
            district=profile.district or None,
            income=getattr(career, "annual_income_inr", None),
            diet=profile.diet or None,
            wants=wants,
        )

    def values(self) -> dict[str, Any]:
        """The values that are set (a list padded to a power of two, so one shape serves
        lists of nearby lengths); whether `wants` is set is the shape's to say."""
        found: dict[str, Any] = {}
        for name, value in vars(self).items():
            if name != "wants" and value is not None:
                found[name] = value
        if self.wants is not None:
            for name, value in vars(self.wants).items():
                if isinstance(value, tuple):
                    if value:
                        found[f"w_{name}"] = padded(value)
                elif value is not None:
                    found[f"w_{name}"] = value
        return found

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, wants: bool) -> Me:
        own = {n: values[n] for n in cls.__dataclass_fields__ if n != "wants" and n in values}
        wanted = None
        if wants:
            wanted = Wants(
                **{n: values[f"w_{n}"] for n in Wants.__dataclass_fields__ if f"w_{n}" in values}
            )
        return cls(**own, wants=wanted)


@dataclass(frozen=True)
class Side:
    """One criterion asked one way: `met` is a condition over candidate rows, or None when the
    asking side left it open (met by everyone, and no reason to show)."""

    name: str
    met: Q | None
    open: Q | None = None  # theirs only: rows where the candidate left it open


def _list_pref(values: tuple[str, ...], column: str) -> Q | None:
    return Q(**{f"{column}__in": values}) if values else None


def mine(wants: Wants | None) -> list[Side]:
    """What I look for, as conditions over the candidates."""
    if wants is None:
        return [Side(name, None) for name in WEIGHTS]
    height = Q()
    if wants.height_min_cm is not None:
        height &= Q(height_cm__gte=wants.height_min_cm)
    if wants.height_max_cm is not None:
        height &= Q(height_cm__lte=wants.height_max_cm)
    return [
        Side("age", Q(date_of_birth__lte=wants.born_lte, date_of_birth__gt=wants.born_gt)),
        Side("religion", _list_pref(wants.religions, "religion")),
        Side("caste", _list_pref(wants.castes, "caste")),
        Side("marital_status", _list_pref(wants.marital_statuses, "marital_status")),
        Side("height", height or None),
        Side("mother_tongue", _list_pref(wants.mother_tongues, "mother_tongue")),
        Side("education", _list_pref(wants.education_levels, "education__level")),
        Side("district", _list_pref(wants.districts, "district")),
        Side(
            "income",
            Q(career__annual_income_inr__gte=wants.income_min_inr)
            if wants.income_min_inr is not None
            else None,
        ),
        Side("diet", Q(diet=wants.diet) if wants.diet else None),
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


def theirs(me: Me) -> list[Side]:
    """What candidates look for, asked about me: conditions over their preferences. A
    candidate with no preferences at all is open to everything, as in `mine`."""
    age = me.age
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
        _their_list("education", "education_levels", me.education),
        _their_list("district", "districts", me.district),
        _their_bound("income", "income_min_inr", "lte", me.income),
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


def annotations(me: Me) -> dict[str, Combinable]:
    """`match_score` and one boolean per criterion that matched and was asked (`mine_*`,
    `theirs_*`), which become `match_reasons`."""
    score: list[Combinable] = []
    flags: dict[str, Combinable] = {}
    for side in mine(me.wants):
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


def criteria(me: Me) -> list[Criterion]:
    """Every way a candidate can fall short of 100 against `me`, heaviest first; a score is
    100 minus the weights of the criteria a candidate fails."""
    found = [Criterion(WEIGHTS[s.name], s.met) for s in mine(me.wants) if s.met is not None]
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
