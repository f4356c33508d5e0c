from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from matching.models import Ignore
from media.tests.factories import make_photo
from moderation.models import Block, Report
from profiles.choices import District, EducationLevel, MaritalStatus, Religion
from profiles.demo import KERALA, seed_members
from profiles.models import Profile
from profiles.selectors import age_on
from profiles.tests.factories import make_groom, make_member

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/matching/search"
SEED = 41


@pytest.fixture
def brides() -> list[Profile]:
    """90 generated members (both genders, realistic spread), their sections included."""
    seed_members(count=90, seed=SEED, password_hash=make_password(None))
    return list(
        Profile.objects.filter(user__email__endswith=f".s{SEED}@demo.aurum.test", gender="female")
        .select_related("user", "education", "career")
        .order_by("pk")
    )


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [card["id"] for card in response.json()["results"]]


def walk(client: Any, params: dict[str, Any]) -> list[str]:
    """Every page, following `next` links."""
    found: list[str] = []
    response = client.get(SEARCH, {**params, "page_size": 7})
    while True:
        found += ids(response)
        link = response.json()["next"]
        if link is None:
            return found
        response = client.get(link)


def python_filter(profiles: list[Profile], f: dict[str, Any]) -> list[Profile]:
    """The same search, written plainly: what the SQL must agree with."""

    def keep(p: Profile) -> bool:
        age = age_on(p.date_of_birth)
        career = getattr(p, "career", None)
        return (
            (f.get("age_min") is None or age >= f["age_min"])
            and (f.get("age_max") is None or age <= f["age_max"])
            and (f.get("height_min") is None or p.height_cm >= f["height_min"])
            and (f.get("height_max") is None or p.height_cm <= f["height_max"])
            and (not f.get("religion") or p.religion in f["religion"])
            and (not f.get("district") or p.district in f["district"])
            and (not f.get("marital_status") or p.marital_status in f["marital_status"])
            and (not f.get("education_level") or p.education.level in f["education_level"])
            and (
                f.get("income_min") is None
                or (
                    (career.annual_income_inr or 0) >= f["income_min"]
                    and career.annual_income_inr is not None
                )
            )
        )

    return [p for p in profiles if keep(p)]


filters = st.fixed_dictionaries(
    {},
    optional={
        "age_min": st.integers(20, 36),
        "age_max": st.integers(24, 40),
        "height_min": st.integers(145, 165),
        "height_max": st.integers(150, 175),
        "religion": st.lists(
            st.sampled_from(["hindu", "muslim", "christian"]), min_size=1, max_size=2, unique=True
        ),
        "district": st.lists(st.sampled_from(KERALA), min_size=1, max_size=4, unique=True),
        "marital_status": st.lists(
            st.sampled_from(["never_married", "divorced"]), min_size=1, max_size=1, unique=True
        ),
        "education_level": st.lists(
            st.sampled_from(["bachelors", "masters", "diploma", "plus_two"]),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        "income_min": st.sampled_from([0, 300_000, 700_000, 1_500_000]),
    },
).filter(
    lambda f: (
        f.get("age_min", 0) <= f.get("age_max", 99)
        and f.get("height_min", 0) <= f.get("height_max", 999)
    )
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(f=filters)
def test_search_agrees_with_a_plain_python_filter(client_for, brides, f):
    groom = make_groom()
    client = client_for(groom.user)
    params = {k: ",".join(v) if isinstance(v, list) else v for k, v in f.items()}
    expected = sorted(
        python_filter(brides, f), key=lambda p: (p.last_active_at, str(p.pk)), reverse=True
    )

    found = walk(client, params)

    assert found == [str(p.pk) for p in expected]
    groom.user.delete()


@pytest.mark.parametrize(
    ("ordering", "key", "reverse"),
    [
        ("recently_active", lambda p: (p.last_active_at, str(p.pk)), True),
        ("newest", lambda p: (p.created_at, str(p.pk)), True),
        ("age", lambda p: (p.date_of_birth, str(p.pk)), True),
        ("-age", lambda p: (p.date_of_birth, str(p.pk)), False),
    ],
)
def test_every_ordering_pages_through_everything_once(client_for, brides, ordering, key, reverse):
    client = client_for(make_groom().user)

    found = walk(client, {"ordering": ordering})

    assert found == [str(p.pk) for p in sorted(brides, key=key, reverse=reverse)]


def test_previous_link_returns_the_page_before(client_for, brides):
    client = client_for(make_groom().user)
    first = client.get(SEARCH, {"page_size": 5})
    second = client.get(first.json()["next"])

    back = client.get(second.json()["previous"])

    assert first.json()["previous"] is None
    assert ids(back) == ids(first)
    assert len(set(ids(first)) & set(ids(second))) == 0


def test_ages_are_inclusive_at_both_ends(client_for):
    today = timezone.localdate()
    exactly_24 = make_member(date_of_birth=today.replace(year=today.year - 24))
    turns_31_tomorrow = make_member(
        date_of_birth=today.replace(year=today.year - 31) + timedelta(days=1)
    )
    turned_31_today = make_member(date_of_birth=today.replace(year=today.year - 31))
    client = client_for(make_groom().user)

    found = ids(client.get(SEARCH, {"age_min": 24, "age_max": 30}))

    assert str(exactly_24.pk) in found
    assert str(turns_31_tomorrow.pk) in found
    assert str(turned_31_today.pk) not in found


def test_members_see_the_other_gender_only(client_for):
    bride, other_groom = make_member(), make_groom()

    found_by_groom = ids(client_for(make_groom().user).get(SEARCH))
    found_by_bride = ids(client_for(make_member().user).get(SEARCH))

    assert str(bride.pk) in found_by_groom and str(other_groom.pk) not in found_by_groom
    assert str(other_groom.pk) in found_by_bride and str(bride.pk) not in found_by_bride


def test_no_gender_yet_is_409(client_for):
    member = make_member(gender=None)

    response = client_for(member.user).get(SEARCH)

    assert response.status_code == 409
    assert response.json()["code"] == "profile_incomplete"


def test_blocked_hidden_unapproved_suspended_flagged_and_ignored_never_appear(client_for):
    groom = make_groom()
    shown = make_member()
    left_out = {
        "blocked_by_me": make_member(),
        "blocking_me": make_member(),
        "hidden": make_member(is_hidden=True),
        "unapproved": make_member(approved=False),
        "suspended": make_member(),
        "flagged": make_member(),
        "ignored": make_member(),
    }
    Block.objects.create(blocker=groom.user, blocked=left_out["blocked_by_me"].user)
    Block.objects.create(blocker=left_out["blocking_me"].user, blocked=groom.user)
    User.objects.filter(pk=left_out["suspended"].pk).update(is_active=False)
    Report.objects.create(
        reporter=make_groom().user, reported=left_out["flagged"].user, flagged=True
    )
    Ignore.objects.create(owner=groom.user, target=left_out["ignored"].user)
    client = client_for(groom.user)

    for ordering in ("recently_active", "newest", "age", "-age"):
        assert ids(client.get(SEARCH, {"ordering": ordering})) == [str(shown.pk)]
    feed = client.get("/api/v1/matching/feed").json()["results"]
    assert str(shown.pk) in {c["id"] for c in feed}
    assert not {c["id"] for c in feed} & {str(p.pk) for p in left_out.values()}


def test_list_filters_take_repeated_and_comma_separated_values(client_for):
    hindu = make_member(religion="hindu", caste="nair", district="thrissur")
    muslim = make_member(religion="muslim", caste="sunni", district="kozhikode")
    make_member(religion="christian", caste="syro_malabar", district="kottayam")
    client = client_for(make_groom().user)

    repeated = ids(client.get(f"{SEARCH}?religion=hindu&religion=muslim"))
    commas = ids(client.get(SEARCH, {"religion": "hindu,muslim"}))
    by_caste = ids(client.get(SEARCH, {"caste": "sunni"}))

    assert sorted(repeated) == sorted(commas) == sorted([str(hindu.pk), str(muslim.pk)])
    assert by_caste == [str(muslim.pk)]


def test_star_mother_tongue_and_verified_only(client_for):
    ashwini = make_member(star="ashwini", mother_tongue="malayalam")
    make_member(star="bharani", mother_tongue="tamil")
    client = client_for(make_groom().user)

    by_star = ids(client.get(SEARCH, {"star": "ashwini", "verified_only": "true"}))
    by_tongue = ids(client.get(SEARCH, {"mother_tongue": "malayalam"}))

    assert by_star == by_tongue == [str(ashwini.pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"religion": "hindu,klingon"}, "religion"),
        ({"district": "gotham"}, "district"),
        ({"age_min": 30, "age_max": 25}, "age_max"),
        ({"height_min": 180, "height_max": 150}, "height_max"),
        ({"age_min": 12}, "age_min"),
        ({"age_min": "old"}, "age_min"),
        ({"ordering": "random"}, "ordering"),
        ({"with_photo": "maybe"}, "with_photo"),
        ({"colour": "blue"}, "colour"),
        ({"page_size": 500}, "page_size"),
    ],
)
def test_bad_filters_are_400_with_the_field(client_for, params, field):
    response = client_for(make_groom().user).get(SEARCH, params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    messages = response.json()["fields"][field]
    assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)


def test_every_unknown_value_is_named(client_for):
    response = client_for(make_groom().user).get(SEARCH, {"district": "gotham,ernakulam,narnia"})

    assert response.json()["fields"] == {
        "district": ['"gotham" is not a valid choice.', '"narnia" is not a valid choice.']
    }


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        # Unsealed JSON, as cursors were until 2026-12: refused before anything is read.
        "eyJvIjoibmV3ZXN0In0",  # {"o":"newest"}: another ordering's, and incomplete
        "eyJvIjoicmVjZW50bHlfYWN0aXZlIiwiciI6ZmFsc2UsInYiOltbInQiLCJ4Il0sWyJ1IiwieSJdXX0",
        "%%%",
    ],
)
def test_garbage_cursors_are_400(client_for, cursor):
    make_member()

    response = client_for(make_groom().user).get(SEARCH, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def forged(tag: str, values: list[Any], reverse: bool = False) -> str:
    """A cursor made outside the server, sealed as the server seals its own: what someone
    holding the key could send, so every value is still checked."""
    import json

    from aurum.pagination import seal

    return seal(json.dumps({"o": tag, "r": reverse, "v": values}))


UUID_TEXT = "01c7654c-6d35-42ab-a6fb-7fd13fdf2603"


@pytest.mark.parametrize(
    ("path", "tag", "values"),
    [
        (SEARCH, "active", [5, UUID_TEXT]),
        (SEARCH, "active", ["2026-10-02T11:21:00+00:00", 5]),
        (SEARCH, "active", ["2026-10-02T11:21:00+00:00", -1]),
        (SEARCH, "active", ["2026-10-02T11:21:00", UUID_TEXT]),  # no time zone
        (SEARCH, "active", ["0001-01-01T00:00:00+01:00", UUID_TEXT]),
        (SEARCH, "active", ["9999-12-31T23:59:59-05:00", UUID_TEXT]),
        (SEARCH, "active", [True, UUID_TEXT]),
        (SEARCH, "age", ["1999-02-30", UUID_TEXT]),
        (SEARCH, "age", [None, UUID_TEXT]),
        ("/api/v1/matching/feed", "feed", ["2026-10-02T11:21:00+00:00", 5, UUID_TEXT]),
        ("/api/v1/matching/feed", "feed", [True, "2026-10-02T11:21:00+00:00", UUID_TEXT]),
        ("/api/v1/matching/feed", "feed", [2**200, "2026-10-02T11:21:00+00:00", UUID_TEXT]),
    ],
)
def test_forged_cursors_are_400_never_500(client_for, path, tag, values):
    make_member()
    client = client_for(make_groom().user)
    params = {"cursor": forged(tag, values)}
    if tag == "age":
        params["ordering"] = "age"

    response = client.get(path, params)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("score", [-5, 0, 97, 150])
def test_a_feed_cursor_of_any_score_just_pages(client_for, score):
    """A score no page could hold (below 0, above 100), sealed by a key holder: a page (of
    the members scoring at most that, or none), never a 500."""
    member = make_member()
    client = client_for(make_groom().user)
    cursor = forged("feed", [score, timezone.now().isoformat(), str(member.pk)])

    response = client.get("/api/v1/matching/feed", {"cursor": cursor})

    assert response.status_code == 200, response.content
    assert all(card["match_score"] <= score for card in response.json()["results"])


def test_a_well_formed_forged_cursor_just_pages(client_for, brides):
    client = client_for(make_groom().user)
    everyone = walk(client, {})
    middle = next(p for p in brides if str(p.pk) == everyone[len(everyone) // 2])

    cursor = forged("active", [middle.last_active_at.isoformat(), str(middle.pk)])
    after = ids(client.get(SEARCH, {"cursor": cursor, "page_size": 50}))

    assert after == everyone[len(everyone) // 2 + 1 :]


def test_a_cursor_of_another_ordering_is_400(client_for, brides):
    client = client_for(make_groom().user)
    cursor = client.get(SEARCH, {"page_size": 3}).json()["next"].split("cursor=")[1]

    response = client.get(SEARCH, {"cursor": cursor, "ordering": "newest"})

    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def photo(owner: Profile, status: str = "approved") -> None:
    make_photo(owner, status, is_primary=True)


def test_with_photo_keeps_members_with_an_approved_photo_everyone_may_see(client_for):
    approved, pending, private = (
        make_member(),
        make_member(),
        make_member(photo_visibility="accepted_interests"),
    )
    photo(approved, "approved")
    photo(pending, "pending")
    photo(private, "approved")
    make_member()
    client = client_for(make_groom().user)

    found = client.get(SEARCH, {"with_photo": "true"})

    assert ids(found) == [str(approved.pk)]
    assert found.json()["results"][0]["photo"]["tiny_url"]


@pytest.mark.parametrize("rows", [1, 8])
@pytest.mark.parametrize("photos", [0, 1, 8])
def test_search_query_count_is_pinned(client_for, django_assert_num_queries, rows, photos):
    for made in range(rows):
        member = make_member()
        if made < photos:
            photo(member)
    client = client_for(make_groom().user)

    # token user; one statement for the page (the gender sought, the page's keys from the
    # search index, their cards, whether each has an approved photo); the primary photos of
    # the cards that have one, none asked for a page without (the photo rule is not asked
    # again: the page came from the visibility rule)
    with django_assert_num_queries(3 if photos else 2):
        response = client.get(SEARCH)

    cards = response.json()["results"]
    assert len(cards) == rows
    assert sum(card["photo"] is not None for card in cards) == min(photos, rows)


def test_page_50_is_reached_by_cursor_not_offset(client_for, brides, django_assert_max_num_queries):
    client = client_for(make_groom().user)
    response = client.get(SEARCH, {"page_size": 1})
    for _ in range(30):
        response = client.get(response.json()["next"])

    with django_assert_max_num_queries(5) as captured:
        client.get(response.json()["next"])

    page_sql = next(q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"])
    assert "OFFSET" not in page_sql.upper()


def test_every_choice_value_is_accepted(client_for):
    client = client_for(make_groom().user)
    for name, choices in (
        ("religion", Religion),
        ("district", District),
        ("marital_status", MaritalStatus),
        ("education_level", EducationLevel),
    ):
        assert client.get(SEARCH, {name: ",".join(choices.values)}).status_code == 200


@pytest.mark.parametrize("rows", [1, 6])
def test_private_photo_owners_cost_one_grant_query_per_page(
    client_for, django_assert_num_queries, rows
):
    for _ in range(rows):
        photo(make_member(photo_visibility="accepted_interests"))
    client = client_for(make_groom().user)

    # the token's user, the page, one query for the accepted interests of the page's
    # private-photo owners with a photo (none granted, so no photo query)
    with django_assert_num_queries(3):
        response = client.get(SEARCH)

    assert len(ids(response)) == rows


@pytest.mark.parametrize("path", [SEARCH, "/api/v1/matching/feed"])
def test_a_cursor_does_not_tell_a_members_last_activity(client_for, path):
    import base64

    first, second = make_member(), make_member()
    moment = timezone.now().replace(microsecond=654321) - timedelta(days=2, hours=3)
    Profile.objects.filter(pk=first.pk).update(last_active_at=moment)
    Profile.objects.filter(pk=second.pk).update(last_active_at=moment - timedelta(days=1))
    client = client_for(make_groom().user)

    page = client.get(path, {"page_size": 1}).json()
    cursor = page["next"]
    cursor = cursor.split("cursor=")[1] if "cursor=" in cursor else cursor
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("latin-1")
    after = client.get(path, {"page_size": 1, "cursor": cursor}).json()

    assert [card["id"] for card in page["results"]] == [str(first.pk)]
    assert moment.strftime("%Y-%m-%dT%H:%M") not in raw and "654321" not in raw
    assert [card["id"] for card in after["results"]] == [str(second.pk)]


def test_query_fields_are_made_once_and_each_query_keeps_its_own_values():
    """Search's query serializer binds its fields once (DRF would deep-copy them for every
    request); queries validated at once on many threads still each get their own answer."""
    from concurrent.futures import ThreadPoolExecutor

    from matching.serializers import SearchQuery

    shared = SearchQuery().fields
    assert SearchQuery(data={}).fields is shared
    assert not hasattr(shared["religion"].parent, "initial_data")  # no request's data kept

    def validate(n: int) -> Any:
        ages = {"age_min": str(20 + n % 10), "age_max": str(18 + n % 3)}
        query = SearchQuery(data={**ages, "religion": ["hindu"] if n % 2 else ["klingon"]})
        return query.is_valid(), query.errors or query.validated_data

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(validate, range(200)))

    for n, (valid, answer) in enumerate(answers):
        low, high = 20 + n % 10, 18 + n % 3
        if n % 2 and low <= high:
            assert valid and answer["age_min"] == low and answer["religion"] == ["hindu"]
        elif n % 2:
            assert not valid and set(answer) == {"age_max"}
        else:
            assert not valid and "religion" in answer
