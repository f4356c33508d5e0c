from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "onboarding"
    moderator_permissions = (
        "onboarding.view_verificationqueue",
        "onboarding.change_verificationqueue",
    )
