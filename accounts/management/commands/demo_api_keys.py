"""Write API keys for the demo merchant and the demo buyer, printed as shell exports for scripts/example_client.py.

Run after `seed_demo` (`make run` seeds it): `eval "$(python manage.py demo_api_keys)"`. Each run revokes the keys
it issued before (same name) and issues new ones, through the services, so both are in the audit ledger.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.choices import ApiKeyScope, Role
from accounts.demo import DEMO_DOMAIN
from accounts.models import ApiKey, Membership

KEY_NAME = "Demo example client"
# Environment variable → the demo owner whose organisation the key acts for.
DEMO_KEYS = {"DATABOURSE_MERCHANT_KEY": "merchant", "DATABOURSE_BUYER_KEY": "buyer"}


class Command(BaseCommand):
    help = "Issue (again) write API keys for the demo merchant and buyer and print them (development only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_api_keys is for local development only (DEBUG is off).")
        with transaction.atomic():
            lines = [self._issue(variable, local) for variable, local in DEMO_KEYS.items()]
        self.stdout.write(f"# {KEY_NAME}: write keys for scripts/example_client.py (earlier ones are revoked).")
        self.stdout.write("\n".join(lines))

    def _issue(self, variable: str, local: str) -> str:
        membership = (
            Membership.objects.filter(user__email=f"{local}@{DEMO_DOMAIN}", role=Role.OWNER)
            .select_related("user", "organization")
            .first()
        )
        if membership is None:
            raise CommandError(f"No demo user {local}@{DEMO_DOMAIN}: run `python manage.py seed_demo` first.")
        owner, organization = membership.user, membership.organization
        for old in ApiKey.objects.active().filter(organization=organization, name=KEY_NAME):
            services.api_key_revoke(api_key=old, by=owner)
        _key, raw = services.api_key_create(organization=organization, name=KEY_NAME, scope=ApiKeyScope.WRITE, by=owner)
        return f"export {variable}={raw}  # {organization.name} ({owner.email})"
