from django.contrib.admin.apps import AdminConfig


class AurumAdminConfig(AdminConfig):
    """Django's admin with Aurum's site (MFA when required, audited password changes)."""

    default_site = "aurum.admin_site.AurumAdminSite"
