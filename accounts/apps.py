from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def sync_moderator_permissions(**kwargs: Any) -> None:
    """The Moderators group holds exactly the permissions apps list in `moderator_permissions`.

    Each app declares what its moderators may do on its own AppConfig, so no app reaches into
    another to grant them; this runs after every migrate, once all permissions exist.
    """
    from django.contrib.auth.models import Group, Permission

    from accounts.models import MODERATORS_GROUP

    wanted: list[str] = []
    for config in apps.get_app_configs():
        wanted.extend(getattr(config, "moderator_permissions", ()))
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    perms = []
    for dotted in wanted:
        app_label, codename = dotted.split(".", 1)
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is not None:
            perms.append(perm)
    group.permissions.set(perms)


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    moderator_permissions = ("accounts.view_user", "accounts.view_auditlog")

    def ready(self) -> None:
        from accounts import receivers

        receivers.connect()
        # Every app's post_migrate, not just this one's: the last one sees all permissions.
        post_migrate.connect(sync_moderator_permissions, dispatch_uid="aurum.moderator_perms")
