from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles"
    moderator_permissions = (
        "profiles.view_profile",
        "profiles.view_education",
        "profiles.view_career",
        "profiles.view_family",
        "profiles.view_partnerpreferences",
    )

    def ready(self) -> None:
        from profiles import receivers

        receivers.connect()
