from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

REGULATORS_GROUP = "Regulators"


def sync_regulator_permissions(**kwargs) -> None:
    """Give the Regulators group the model permissions every app declares in `regulator_permissions`."""
    from django.contrib.auth.models import Group, Permission

    wanted = [p for config in apps.get_app_configs() for p in getattr(config, "regulator_permissions", [])]
    group, _created = Group.objects.get_or_create(name=REGULATORS_GROUP)
    perms = []
    for dotted in wanted:
        app_label, codename = dotted.split(".")
        perms.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    group.permissions.set(perms)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Members and access")
    regulator_permissions = [
        "accounts.view_organization",
        "accounts.change_organization",
        "accounts.view_user",
        "accounts.view_membership",
        "accounts.view_apikey",
        "accounts.view_invitation",
    ]

    def ready(self) -> None:
        # Setup, not business logic: keep the regulators' admin permissions in step with the installed apps.
        post_migrate.connect(sync_regulator_permissions, dispatch_uid="accounts.sync_regulator_permissions")
