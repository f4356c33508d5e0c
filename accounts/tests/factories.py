from __future__ import annotations

import factory

from accounts.models import Role, User

PASSWORD = "Backwaters-and-monsoon-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    phone = factory.Sequence(lambda n: f"+9198470{n:05d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.USER

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


def make_moderator(**kwargs: object) -> User:
    from accounts.services import user_set_role

    user = UserFactory(**kwargs)
    return user_set_role(actor=None, user=user, role=Role.MODERATOR)


def make_admin(**kwargs: object) -> User:
    from accounts.services import user_set_role

    user = UserFactory(**kwargs)
    return user_set_role(actor=None, user=user, role=Role.ADMIN)
