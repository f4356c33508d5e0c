from profiles.models import Profile


class VerificationQueue(Profile):
    """The moderators' view of profiles awaiting (or past) verification. No table of its own:
    a proxy, so the admin can give verification its own screen and permissions."""

    class Meta:
        proxy = True
        verbose_name = "verification"
        verbose_name_plural = "verification queue"
