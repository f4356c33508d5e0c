from django.apps import AppConfig


class MatchingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "matching"
    moderator_permissions = ("matching.view_interest",)

    def ready(self) -> None:
        from accounts.privacy import register_member_data
        from matching import privacy

        register_member_data("matching", export=privacy.export, erase=privacy.erase)
        from matching import receivers
        from matching.selectors import accepted_among, interest_counts, recommendations
        from profiles.selectors import register_contact_grant, register_dashboard_part

        receivers.connect()
        register_dashboard_part("interests", interest_counts)
        register_dashboard_part("recommendations", recommendations)

        # An accepted interest opens contact details (and photos kept for accepted
        # interests): the rule stays in profiles, this is the fact it asks about.
        register_contact_grant(accepted_among)
