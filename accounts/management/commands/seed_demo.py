"""Idempotent demo data: verified organisations of every kind and a user for every role."""

from importlib import import_module

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils.module_loading import module_has_submodule
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import access_services, services
from accounts.choices import VerificationStatus
from accounts.demo import DEMO_DOMAIN, DEMO_LICENCE_PDF, DEMO_ORGS, DEMO_PASSWORD, DEMO_TOTP_KEY, DemoOrg
from accounts.models import Membership, Organization, User
from core.identifiers import credit_code_check_char


def demo_credit_code(org_code: str, region: str = "370200") -> str:
    body = f"91{region}{org_code}"
    return body + credit_code_check_char(body)


class Command(BaseCommand):
    help = "Load demo organisations and users (safe to run again; existing rows are kept)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, **options) -> None:
        # Demo decisions would otherwise e-mail every demo organisation through the console backend.
        with override_settings(MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}):
            with transaction.atomic():
                self._seed()
            self._seed_apps()
        if not options["quiet_logins"]:
            self._print_logins()

    def _seed(self) -> None:
        superuser = self._superuser()
        regulator = None
        for spec in DEMO_ORGS:
            org = self._organization(spec, decider=regulator)
            if spec.kind == "regulator":
                regulator = org.memberships.get(role="owner").user
        for user in User.objects.filter(is_staff=True, email__endswith=DEMO_DOMAIN):
            self._totp(user)
        self._totp(superuser)

    def _seed_apps(self) -> None:
        """Each later app may add demo data with a `seed_demo_data(stdout=..., regulator=...)` in its `demo` module.

        Discovered rather than imported, so accounts does not depend on the apps built on it.
        """
        regulator = User.objects.filter(email=f"regulator@{DEMO_DOMAIN}").first()
        for config in apps.get_app_configs():
            if config.name == "accounts" or not module_has_submodule(config.module, "demo"):
                continue
            module = import_module(f"{config.name}.demo")
            if hasattr(module, "seed_demo_data"):
                module.seed_demo_data(stdout=self.stdout, regulator=regulator)

    def _user(self, local: str, full_name: str) -> User:
        email = f"{local}@{DEMO_DOMAIN}"
        user = User.objects.filter(email=email).first()
        return user or services.user_create(email=email, password=DEMO_PASSWORD, full_name=full_name)

    def _superuser(self) -> User:
        email = f"admin@{DEMO_DOMAIN}"
        user = User.objects.filter(email=email).first()
        return user or access_services.superuser_create(
            email=email, password=DEMO_PASSWORD, full_name="Platform administrator"
        )

    def _organization(self, spec: DemoOrg, *, decider: User | None) -> Organization:
        code = demo_credit_code(spec.org_code, spec.region)
        org = Organization.objects.filter(credit_code=code).first()
        if org is not None:
            return org
        users = {local: self._user(local, local.replace("-", " ").title()) for local in spec.members}
        owner_local = next(local for local, role in spec.members.items() if role == "owner")
        caps = {c: (c in spec.capabilities) for c in ("can_sell", "can_buy", "can_operate_public_data", "can_appraise")}
        register = services.regulator_register if spec.kind == "regulator" else services.organization_register
        org = register(
            user=users[owner_local],
            name=spec.name,
            credit_code=code,
            address=spec.address,
            contact_name=users[owner_local].full_name,
            contact_email=users[owner_local].email,
            contact_phone="0532-8000" + spec.org_code[-4:],
            **caps,
        )
        for local, role in spec.members.items():
            if role != "owner":
                services.membership_add(organization=org, user=users[local], role=role, by=users[owner_local])
        self._verify(org, spec, owner=users[owner_local], decider=decider)
        return org

    def _verify(self, org: Organization, spec: DemoOrg, *, owner: User, decider: User | None) -> None:
        if spec.kind != "regulator":
            licence = ContentFile(DEMO_LICENCE_PDF, name="business-licence.pdf")
            org = services.organization_upload_licence(organization=org, by=owner, licence=licence)
        if spec.status == VerificationStatus.VERIFIED and org.status != VerificationStatus.VERIFIED:
            services.organization_verify(organization=org, by=decider, reason="Demo data: licence checked.")

    def _totp(self, user: User) -> None:
        if not TOTPDevice.objects.filter(user=user).exists():
            access_services.totp_device_create(
                user=user, name="Demo authenticator", by=None, confirmed=True, key=DEMO_TOTP_KEY
            )

    def _print_logins(self) -> None:
        w = self.stdout.write
        w(self.style.SUCCESS(f"\nDemo logins (password for all: {DEMO_PASSWORD})"))
        rows = Membership.objects.filter(user__email__endswith=DEMO_DOMAIN).select_related("user", "organization")
        for m in rows.order_by("organization__kind", "organization__name", "role"):
            w(f"  {m.user.email:<40} {m.get_role_display():<14} {m.organization.name}")
        w(f"  {'admin@' + DEMO_DOMAIN:<40} {'superuser':<14} (platform administrator)")
        w("\nThe regulator console (/admin/) asks for a TOTP code; the demo staff accounts share the secret")
        w(f"  {_base32(DEMO_TOTP_KEY)}  (add it to an authenticator app)")
        w(f"  or print the current code: make totp EMAIL=regulator@{DEMO_DOMAIN}")


def _base32(hex_key: str) -> str:
    import base64

    return base64.b32encode(bytes.fromhex(hex_key)).decode()
