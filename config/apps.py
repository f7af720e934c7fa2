from django.contrib.admin.apps import AdminConfig


class DatabourseAdminConfig(AdminConfig):
    """The regulator console: Django's admin behind TOTP two-factor."""

    default_site = "config.admin.DatabourseAdminSite"
