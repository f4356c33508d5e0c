"""Demo data for `make run`: staff accounts and a few members. Idempotent; refused in prod."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Role, User

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
    },
    {
        "email": "arjun@aurum.test",
        "phone": "+919847000002",
        "first_name": "Arjun",
        "last_name": "Menon",
    },
    {"phone": "+919847000003", "first_name": "Fathima", "last_name": "Rahman"},
    {
        "email": "joseph@aurum.test",
        "phone": "+919847000004",
        "first_name": "Joseph",
        "last_name": "Kurian",
    },
]


class Command(BaseCommand):
    help = "Create demo staff and members (password in the README). Safe to run twice."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PROD:
            raise CommandError("seed_demo refuses to run with AURUM_ENV=prod.")
        created = 0
        for spec in DEMO_ACCOUNTS:
            spec = dict(spec)
            role = spec.pop("role", Role.USER)
            lookup = {"email": spec["email"]} if spec.get("email") else {"phone": spec["phone"]}
            if User.objects.filter(**lookup).exists():
                continue
            user = services.user_register(password=DEMO_PASSWORD, audit=False, **spec)
            if role != Role.USER:
                services.user_set_role(actor=None, user=user, role=role)
            created += 1
        self.stdout.write(
            f"Demo data: {created} accounts created, {len(DEMO_ACCOUNTS) - created} already there."
        )
