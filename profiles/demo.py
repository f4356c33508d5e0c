"""Deterministic, realistic Kerala members for demos and benchmarks, inserted in bulk.

Member `i` of seed `s` is always the same person (its own random stream), whatever the batch
size or how many members were made before: a run with a larger `count` only adds members.
Phones are `+91 7 SS NNNNNNN` (SS the seed, N the index), emails `m<i>.s<seed>@demo.aurum.test`.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import PROFILE_CODE_ALPHABET, PROFILE_CODE_PREFIX, User
from profiles.choices import CASTES, STARS, District, Religion
from profiles.models import Career, Education, Family, PartnerPreferences, Profile
from profiles.signals import profile_changed

FIRST_NAMES = {
    (
        Religion.HINDU,
        "female",
    ): "Anjali Aswathy Devika Lakshmi Meera Parvathy Sreelakshmi Gopika Arya Nandana Keerthana Athira Revathy Sneha Kavya Divya Aiswarya Gayathri Malavika Haritha".split(),  # noqa: E501
    (
        Religion.HINDU,
        "male",
    ): "Arjun Vishnu Akhil Rahul Sreejith Anand Gokul Nikhil Abhijith Rohit Sarath Vivek Hari Kiran Midhun Adarsh Sandeep Jithin Aravind Manu".split(),  # noqa: E501
    (
        Religion.CHRISTIAN,
        "female",
    ): "Anna Mariya Neethu Ann Teresa Rose Jincy Sherin Liya Elizabeth Ancy Reshma Bincy Sona Aleena Jismi Merin Tintu Sneha Dona".split(),  # noqa: E501
    (
        Religion.CHRISTIAN,
        "male",
    ): "Joseph Mathew Thomas George Jobin Jithin Anto Sebastian Alen Tony Kevin Roshan Justin Binu Shijo Jomon Abin Felix Jeril Nithin".split(),  # noqa: E501
    (
        Religion.MUSLIM,
        "female",
    ): "Fathima Ayisha Hiba Nihala Shahana Safa Rinsha Sana Amina Jasna Naja Hanna Farhana Sumayya Shirin Thasni Nasrin Muhsina Haseena Rifa".split(),  # noqa: E501
    (
        Religion.MUSLIM,
        "male",
    ): "Muhammed Faisal Shameer Ajmal Anas Irfan Rashid Nabeel Shihab Junaid Sinan Fahad Arshad Jaseem Nizam Shafeeq Aslam Hashim Riyas Salman".split(),  # noqa: E501
}
SURNAMES = {
    "nair": ["Nair", "Menon", "Pillai", "Kurup", "Nambiar", "Unnithan"],
    "ezhava": ["Chekavar", "Panicker", "Vaidyar", "Channar"],
    "thiyya": ["Thiyyar", "Kurup", "Chekavar"],
    "namboothiri": ["Namboothiri", "Bhattathiri", "Potti"],
    Religion.CHRISTIAN: ["Kurian", "Varghese", "Thomas", "George", "Mathew", "Joseph", "Chacko"],
    Religion.MUSLIM: ["K", "P", "M", "V", "Kunju", "Haji", "Thangal"],
    Religion.HINDU: ["K", "S", "R", "Mohan", "Kumar", "Das", "Raj"],
}
RELIGION_WEIGHTS = [(Religion.HINDU, 55), (Religion.MUSLIM, 26), (Religion.CHRISTIAN, 18)]
KERALA = [d for d in District.values if d not in {"outside_kerala", "abroad"}]
EDUCATION = [
    ("plus_two", 8),
    ("diploma", 10),
    ("bachelors", 30),
    ("professional_bachelors", 22),
    ("masters", 18),
    ("professional_masters", 9),
    ("doctorate", 3),
]
OCCUPATIONS = [
    ("it_software", 18, 900_000),
    ("government", 14, 600_000),
    ("private", 16, 450_000),
    ("nurse", 8, 500_000),
    ("teacher", 8, 420_000),
    ("engineer", 8, 800_000),
    ("doctor", 4, 1_800_000),
    ("business", 8, 900_000),
    ("gulf", 10, 1_200_000),
    ("not_working", 6, 0),
]


def _weighted(rng: random.Random, pairs: list[tuple]) -> tuple:  # type: ignore[type-arg]
    total = sum(p[1] for p in pairs)
    point = rng.uniform(0, total)
    for pair in pairs:
        point -= pair[1]
        if point <= 0:
            return pair
    return pairs[-1]


@dataclass
class Member:
    user: User
    profile: Profile
    education: Education
    career: Career
    family: Family
    preferences: PartnerPreferences


def seed_phone(seed: int, index: int) -> str:
    return f"+917{seed % 100:02d}{index:07d}"


def seed_email(seed: int, index: int) -> str:
    return f"m{index}.s{seed}@demo.aurum.test"


def make_member(
    seed: int,
    index: int,
    password_hash: str,
    new_code: Callable[[random.Random], str],
    today: date,
    gender: str | None = None,
    realistic: bool = False,
) -> Member:
    rng = random.Random(seed * 10_000_000 + index)
    gender = gender or rng.choice(["female", "male"])
    religion = _weighted(rng, RELIGION_WEIGHTS)[0]
    castes = [c for c, _ in CASTES[religion] if c not in {"other", "no_caste"}]
    caste = rng.choice(castes)
    first = rng.choice(FIRST_NAMES[(religion, gender)])
    last = rng.choice(
        SURNAMES.get(caste) or SURNAMES.get(caste.split("_")[0]) or SURNAMES[religion]
    )
    age = rng.randint(21, 34) if gender == "female" else rng.randint(24, 39)
    born = today - timedelta(days=age * 365 + rng.randint(0, 364))
    height = round(rng.gauss(157 if gender == "female" else 170, 6))
    level = _weighted(rng, EDUCATION)[0]
    occupation, _, income = _weighted(rng, OCCUPATIONS)
    joined = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=index * 7 % 500_000)
    active = datetime.combine(today, datetime.min.time(), UTC) - timedelta(
        minutes=rng.randint(0, 60 * 24 * 60)
    )

    user = User(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        email=seed_email(seed, index),
        phone=seed_phone(seed, index),
        first_name=first,
        last_name=last,
        password=password_hash,
        admin_approved=True,
        profile_code=new_code(rng),
        date_joined=joined,
    )
    profile = Profile(
        user=user,
        gender=gender,
        date_of_birth=born,
        height_cm=max(140, min(200, height)),
        weight_kg=rng.randint(45, 70) if gender == "female" else rng.randint(55, 90),
        marital_status="never_married" if rng.random() < 0.9 else "divorced",
        religion=religion,
        caste=caste,
        mother_tongue="malayalam" if rng.random() < 0.95 else "tamil",
        district=rng.choice(KERALA),
        star=rng.choice(STARS)[0],
        diet=rng.choice(["non_vegetarian", "non_vegetarian", "vegetarian", "eggetarian"]),
        smoking="no",
        drinking=rng.choice(["no", "no", "occasionally"]),
        about=f"{first}, from a {rng.choice(['close-knit', 'traditional', 'modern'])} family, "
        f"enjoys {rng.choice(['music', 'travel', 'reading', 'cooking', 'cricket'])}. "
        "Looking for a kind and understanding partner.",
        created_by=rng.choice(["self", "self", "parent", "sibling"]),
        verification_status="Approved",
        submitted_at=joined + timedelta(hours=2),
        reviewed_at=joined + timedelta(hours=20),
        last_active_at=active,
    )
    low, high = (age, age + 7) if gender == "female" else (max(18, age - 7), age)
    career = Career(
        profile=profile,
        occupation=occupation,
        annual_income_inr=int(income * rng.uniform(0.6, 1.6)) if income else None,
    )
    preferences = PartnerPreferences(
        profile=profile,
        age_min=low,
        age_max=high,
        religions=[religion] if rng.random() < 0.85 else [],
        castes=[caste] if rng.random() < 0.3 else [],
    )
    if realistic:
        # Drawn after everything else: the same person as in the loose mode, choosier.
        preferences = realistic_preferences(rng, profile, level, career.annual_income_inr)
        preferences.age_min, preferences.age_max = low, high
    return Member(
        user=user,
        profile=profile,
        education=Education(profile=profile, level=level),
        career=career,
        family=Family(profile=profile, family_type=rng.choice(["nuclear", "joint"])),
        preferences=preferences,
    )


LEVELS = [level for level, _ in EDUCATION]


def realistic_preferences(
    rng: random.Random, profile: Profile, level: str, income: int | None
) -> PartnerPreferences:
    """Preferences as members fill them in: narrow, and drawn from the member's own religion,
    caste, district and education. Most ask for their own religion and caste, their marital
    status, Malayalam, their district and the two beside it, education near their own and a
    height bound; most brides name an income floor."""
    bride = profile.gender == "female"
    religion, caste, district = profile.religion, profile.caste, profile.district
    roll = rng.random()
    if roll < 0.7:
        castes = [caste]
    elif roll < 0.85 and caste and caste.startswith("nair"):
        castes = [c for c, _ in CASTES[religion] if c.startswith("nair")]
    else:
        castes = []
    where = KERALA.index(district) if district in KERALA else 0
    nearby = [KERALA[i] for i in (where - 1, where, where + 1) if 0 <= i < len(KERALA)]
    if len(nearby) < 3:  # the first or last district: the next two inward
        nearby = KERALA[:3] if where == 0 else KERALA[-3:]
    step = LEVELS.index(level)
    levels = LEVELS[max(0, step - 1) : step + 2] if step else LEVELS[:3]
    height = profile.height_cm or 160
    married_before = profile.marital_status != "never_married"
    return PartnerPreferences(
        profile=profile,
        age_min=18,
        age_max=18,
        religions=[religion] if rng.random() < 0.95 else [],
        castes=castes,
        marital_statuses=(
            ["divorced", "widowed", "awaiting_divorce"]
            if married_before and rng.random() < 0.6
            else []
            if married_before
            else ["never_married"]
        ),
        mother_tongues=["malayalam"] if rng.random() < 0.9 else [],
        districts=nearby if rng.random() < 0.8 else [],
        education_levels=levels if rng.random() < 0.7 else [],
        height_min_cm=height + rng.randint(2, 8) if bride else None,
        height_max_cm=None if bride else max(height - rng.randint(0, 4), 140),
        income_min_inr=(
            max(rng.choice([300_000, 500_000]), (income or 0) // 200_000 * 100_000)
            if bride and rng.random() < 0.7
            else None
        ),
        diet="vegetarian" if profile.diet == "vegetarian" and rng.random() < 0.5 else None,
    )


def code_generator(taken: set[str]) -> Callable[[random.Random], str]:
    def new_code(rng: random.Random) -> str:
        while True:
            code = PROFILE_CODE_PREFIX + "".join(rng.choices(PROFILE_CODE_ALPHABET, k=6))
            if code not in taken:
                taken.add(code)
                return code

    return new_code


def seed_members(
    *,
    count: int,
    seed: int,
    password_hash: str,
    batch_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    realistic: bool = False,
) -> int:
    """Make members 0..count-1 of `seed` that do not exist yet (with `realistic_preferences`
    when asked). Returns how many were made."""
    existing = User.objects.filter(email__endswith=f".s{seed}@demo.aurum.test").count()
    if existing >= count:
        return 0
    taken = set(User.objects.values_list("profile_code", flat=True))
    new_code = code_generator(taken)
    today = date.today()
    made = 0
    for start in range(existing, count, batch_size):
        stop = min(count, start + batch_size)
        members = [
            make_member(seed, i, password_hash, new_code, today, realistic=realistic)
            for i in range(start, stop)
        ]
        with transaction.atomic():
            for name in ("user", "profile", "education", "career", "family", "preferences"):
                _insert([getattr(m, name) for m in members])
        made += len(members)
        if progress:
            progress(existing + made, count)
    return made


def _insert(rows: list[Any]) -> None:
    """Bulk insert: COPY on PostgreSQL (several times faster than INSERT for a million rows,
    and the model layer's per-field work is skipped), bulk_create elsewhere."""
    model = type(rows[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=2000)
        return
    from psycopg.types.json import Jsonb

    fields = model._meta.concrete_fields
    now = timezone.now()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    stamped = {
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = []
            for f in fields:
                value = getattr(row, f.attname)
                if f.attname in stamped and value is None:
                    value = now
                elif f.attname in json_fields:
                    value = Jsonb(value)
                values.append(value)
            copy.write_row(values)


def analyze() -> None:
    """Fresh planner statistics for the tables just filled: without them (PostgreSQL here runs
    no autovacuum) the feed's plan became a sequential scan. VACUUM also marks the pages
    all-visible, so the search indexes answer without reading the table."""
    tables = [
        model._meta.db_table
        for model in (User, Profile, Education, Career, Family, PartnerPreferences)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        elif connection.vendor == "postgresql":  # VACUUM cannot run in a transaction
            cursor.execute(f"ANALYZE {', '.join(tables)}")
        else:
            cursor.execute("ANALYZE")


def progress_bar(out: TextIO = sys.stderr) -> Callable[[int, int], None]:
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total)
        rate = done / max(time.monotonic() - started, 1e-6)
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {rate:,.0f}/s")
        if done >= total:
            out.write("\n")
        out.flush()

    return show


def give_profile(user: User, *, gender: str, seed: int = 0, index: int = 9_999_999) -> Profile:
    """A complete, approved profile for an existing account (the named demo members)."""
    member = make_member(seed, index, user.password, code_generator(set()), date.today(), gender)
    member.profile.about = member.profile.about.replace(member.user.first_name, user.first_name, 1)
    with transaction.atomic():
        member.profile.user = user
        member.profile.save()
        for name in ("education", "career", "family", "preferences"):
            section = getattr(member, name)
            section.profile = member.profile
            section.save()
        User.objects.filter(pk=user.pk).update(admin_approved=True)
        # The account may have had a profile that feeds cached: say it changed, as services do.
        profile_id = member.profile.pk
        transaction.on_commit(
            lambda: profile_changed.send(sender=Profile, profile_id=profile_id), robust=True
        )
    return member.profile
