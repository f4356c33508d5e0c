"""Demo data: staff, a few named members, and any number of generated Kerala members.

    manage.py seed_demo                       # staff + named members (what `make run` loads)
    manage.py seed_demo --profiles 1000000    # and a million members, in bulk
    manage.py seed_demo --profiles 200 --seed 7
    manage.py seed_demo --profiles 1000000 --preferences realistic   # choosy, as members are

After generating members it refreshes the planner's statistics (VACUUM ANALYZE on
PostgreSQL, whose plans for search and the feed depend on them; ANALYZE on SQLite).

Idempotent: a second run adds only what is missing. Refused with AURUM_ENV=prod.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import Role, User
from profiles.demo import analyze, give_profile, progress_bar, seed_members
from profiles.models import Profile

DEMO_PASSWORD = "kerala-demo-2026"  # noqa: S105 - a published demo credential, refused in prod

DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {"email": "admin@aurum.test", "first_name": "Asha", "last_name": "Admin", "role": Role.ADMIN},
    {
        "email": "moderator@aurum.test",
        "first_name": "Meera",
        "last_name": "Mod",
        "role": Role.MODERATOR,
    },
    {
        "email": "anjali@aurum.test",
        "phone": "+919847000001",
        "first_name": "Anjali",
        "last_name": "Nair",
        "gender": "female",
    },
    {
        "email": "arjun@aurum.test",
        "phone": "+919847000002",
        "first_name": "Arjun",
        "last_name": "Menon",
        "gender": "male",
    },
    {"phone": "+919847000003", "first_name": "Fathima", "last_name": "Rahman", "gender": "female"},
    {
        "email": "joseph@aurum.test",
        "phone": "+919847000004",
        "first_name": "Joseph",
        "last_name": "Kurian",
        "gender": "male",
    },
]


class Command(BaseCommand):
    help = "Create demo staff, named members and generated Kerala members. Safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profiles", type=int, default=0, help="generated members wanted")
        parser.add_argument(
            "--seed", type=int, default=42, help="0-99; the same seed, the same people"
        )
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--preferences",
            choices=["loose", "realistic"],
            default="loose",
            help="loose: most members open to most; realistic: own religion, caste, district "
            "and education, a height bound, an income floor for brides",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PROD:
            raise CommandError("seed_demo refuses to run with AURUM_ENV=prod.")
        if not 0 <= options["seed"] <= 99:
            raise CommandError("--seed is a number from 0 to 99.")
        created = self._named_accounts()
        made = 0
        if options["profiles"] > 0:
            made = seed_members(
                count=options["profiles"],
                seed=options["seed"],
                password_hash=make_password(DEMO_PASSWORD),
                batch_size=options["batch_size"],
                progress=progress_bar(self.stderr._out),
                realistic=options["preferences"] == "realistic",
            )
        if made:
            analyze()
        self.stdout.write(
            f"Demo data: {created} named accounts and {made} generated members created "
            f"({Profile.objects.count()} profiles in all)."
        )
        self.stdout.write(
            f"Demo login: anjali@aurum.test / {DEMO_PASSWORD} (member), "
            f"moderator@aurum.test / {DEMO_PASSWORD} (admin console)"
        )

    def _named_accounts(self) -> int:
        created = 0
        for spec in DEMO_ACCOUNTS:
            spec = dict(spec)
            role = spec.pop("role", Role.USER)
            gender = spec.pop("gender", None)
            lookup = {"email": spec["email"]} if spec.get("email") else {"phone": spec["phone"]}
            user = User.objects.filter(**lookup).first()
            if user is None:
                user = services.user_register(password=DEMO_PASSWORD, audit=False, **spec)
                created += 1
            if role != Role.USER and user.role != role:
                services.user_set_role(actor=None, user=user, role=role)
            if gender and not Profile.objects.filter(user=user).exists():
                give_profile(user, gender=gender)
        return created
