from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import QuerySet

from aurum.statements import StatementMismatch, Statements, compile_shape, padded
from matching.search import SEARCH_PAGES, search_page
from profiles.models import PartnerPreferences, Profile
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db


def born_after(values: Mapping[str, Any]) -> QuerySet[Any]:
    return (
        Profile.objects.filter(date_of_birth__gt=values["born"], user_id__in=values["ids"])
        .order_by("user_id")
        .values("user_id", "date_of_birth", "user__date_joined", "user__first_name")
    )


def test_rows_match_the_queryset_and_the_shape_is_compiled_once():
    members = [make_member(), make_member(), make_groom()]
    statements = Statements("test")
    ids = tuple(sorted(member.user.pk for member in members))
    for born in (date(1900, 1, 1), date(2100, 1, 1), members[0].date_of_birth):
        values = {"born": born, "ids": ids}

        rows = statements.rows("born after", values, born_after)

        assert rows == list(born_after(values))  # with the types Django converts to
    assert len(rows) < 3  # the last bound left some out
    assert [compiled is not None for compiled in statements._shapes.values()] == [True]


def test_a_value_the_builder_reads_elsewhere_is_never_cached():
    member = make_member()
    calls: list[date] = []

    def leaky(values: Mapping[str, Any]) -> QuerySet[Any]:
        # The bound comes from the database, not from `values`: the same in both stand-in
        # compilations, different for the next caller. Here it moves on every call.
        calls.append(date(1950, 1, 1) + timedelta(days=len(calls)))
        return Profile.objects.filter(user_id=values["id"], date_of_birth__gt=calls[-1]).values(
            "user_id"
        )

    assert compile_shape(leaky, {"id": member.user.pk}) is None
    statements = Statements("test")
    assert statements.rows("leaky", {"id": member.user.pk}, leaky) == [{"user_id": member.user.pk}]
    assert list(statements._shapes.values()) == [None]


def test_a_value_the_builder_drops_is_never_cached():
    member = make_member()

    def ignores_bound(values: Mapping[str, Any]) -> QuerySet[Any]:
        return Profile.objects.filter(user_id=values["id"]).values("user_id")

    assert compile_shape(ignores_bound, {"id": member.user.pk, "unused": 3}) is None


def test_values_of_unknown_kinds_are_refused():
    with pytest.raises(TypeError):
        Statements("test").rows("bad", {"flag": True}, born_after)


def test_a_search_page_runs_a_compiled_statement(client_for):
    groom = make_groom()
    bride = make_member()
    SEARCH_PAGES._shapes.clear()
    client = client_for(groom.user)

    for religion in (bride.religion, "hindu,muslim"):
        response = client.get(
            "/api/v1/matching/search", {"religion": religion, "age_min": 18, "height_min": 140}
        )
        assert response.status_code == 200

    assert response.json()["results"][0]["id"] == str(bride.user.pk)
    compiled = list(SEARCH_PAGES._shapes.values())
    assert len(compiled) == 2  # one value, then two: two shapes
    assert all(shape is not None for shape in compiled)


def test_a_suspended_viewer_sees_nothing_through_the_cache():
    groom = make_groom()
    make_member()
    filters = {"ordering": "recently_active", "page_size": 20}
    assert search_page(viewer=groom.user, filters=filters).rows  # the shape is now cached

    groom.user.is_active = False  # as the account is read after a suspension

    assert search_page(viewer=groom.user, filters=filters).rows == []


def test_the_least_recently_used_shape_goes_first():
    member = make_member()
    statements = Statements("test", size=2)
    values = {"born": date(1900, 1, 1), "ids": (member.user.pk,)}

    for shape in ("one", "two", "one", "three"):
        assert statements.rows(shape, values, born_after) == list(born_after(values))

    assert [key[1] for key in statements._shapes] == ["one", "three"]


def test_padded_lists_take_one_shape_per_power_of_two():
    assert [len(padded(range(n))) for n in (0, 1, 2, 3, 5, 8, 9)] == [0, 1, 2, 4, 8, 8, 16]
    assert padded([7, 8, 9]) == (7, 8, 9, 9)
    members = sorted((make_member() for _ in range(4)), key=lambda m: m.user.pk)
    statements = Statements("test")

    for count in (3, 4, 3):
        ids = padded(member.user.pk for member in members[:count])
        values = {"born": date(1900, 1, 1), "ids": ids}

        rows = statements.rows("born after", values, born_after)

        assert [row["user_id"] for row in rows] == [m.user.pk for m in members[:count]]
        assert rows == list(born_after(values))
    assert len(statements._shapes) == 1


def test_a_builder_that_reads_the_database_is_never_cached(caplog):
    # The stand-in id finds no profile, so both compilations read the same answer (none) and
    # would agree: only refusing any query during the build keeps it out of the cache.
    bride, groom = make_member(), make_groom()

    def gender_of_viewer(values: Mapping[str, Any]) -> QuerySet[Any]:
        mine = Profile.objects.filter(user_id=values["viewer"]).values_list("gender", flat=True)
        return (
            Profile.objects.exclude(gender__in=list(mine))
            .filter(user_id__in=values["ids"])
            .order_by("user_id")
            .values("user_id")
        )

    statements = Statements("test")
    ids = tuple(sorted((bride.user_id, groom.user_id)))

    rows = statements.rows("gender", {"viewer": groom.user_id, "ids": ids}, gender_of_viewer)

    assert rows == [{"user_id": bride.user_id}]
    assert list(statements._shapes.values()) == [None]
    assert "building it ran 2 queries" in caplog.text


def test_the_check_finds_a_compiled_statement_that_answers_wrongly(settings):
    members = sorted((make_member(), make_member()), key=lambda member: member.user_id)
    statements = Statements("test")
    values = {"born": date(1900, 1, 1), "ids": tuple(member.user_id for member in members)}
    statements.rows("born after", values, born_after)
    (key,) = statements._shapes
    compiled = statements._shapes[key]
    assert compiled is not None
    # A statement that went wrong: it forgets its ordering.
    statements._shapes[key] = replace(compiled, sql=compiled.sql.replace("ASC", "DESC"))

    with pytest.raises(StatementMismatch):
        statements.rows("born after", values, born_after)
    settings.STATEMENTS_CHECK = 0
    assert statements.rows("born after", values, born_after) != list(born_after(values))


def test_the_check_leaves_its_own_query_uncounted(django_assert_num_queries):
    member = make_member()
    statements = Statements("test")
    values = {"born": date(1900, 1, 1), "ids": (member.user_id,)}
    statements.rows("born after", values, born_after)

    with django_assert_num_queries(1):
        statements.rows("born after", values, born_after)


def test_feed_pages_run_compiled_statements_one_per_shape(client_for):
    """The feed's page statement is built from the member's values alone, so two members
    with preferences of the same shape share one compiled statement (every shape traced:
    a JSON column's constants, lists, dates and ages included), and each still gets their
    own page (the suite checks every compiled statement's rows against the ORM's)."""
    from matching.feed import BUDGETS, FEED_PAGES

    grooms = [make_groom(), make_groom()]
    for groom, religion in zip(grooms, ("hindu", "christian"), strict=True):
        PartnerPreferences.objects.filter(profile=groom).update(
            religions=[religion], districts=["ernakulam", "thrissur"], income_min_inr=None
        )
    hindu = make_member(religion="hindu")
    christian = make_member(religion="christian")
    FEED_PAGES._shapes.clear()

    tops, shapes = [], []
    for groom in grooms:
        tops.append(client_for(groom.user).get("/api/v1/matching/feed").json()["results"])
        shapes.append(len(FEED_PAGES._shapes))

    assert [page[0]["id"] for page in tops] == [str(hindu.user.pk), str(christian.user.pk)]
    # one statement per budget tried (the page is not full, so every budget is); the second
    # member's pages reused the first's
    assert shapes == [len(BUDGETS), len(BUDGETS)]
    assert all(compiled is not None for compiled in FEED_PAGES._shapes.values())
