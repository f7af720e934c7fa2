import itertools

import factory
from django.core.files.base import ContentFile

from accounts import services
from accounts.choices import ApiKeyScope, OrganizationKind, Role, VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from core.identifiers import credit_code_check_char

_serial = itertools.count(1)
PASSWORD = "correct-horse-battery"


def credit_code(n: int | None = None) -> str:
    """A valid unified social credit code, different for each call."""
    body = f"91370200MA{(n if n is not None else next(_serial)):07d}"
    return body + credit_code_check_char(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """A verified enterprise that buys and sells, registered through the service (group and grants included)."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Qingdao Data Co. {n}")
    credit_code = factory.LazyFunction(credit_code)
    kind = OrganizationKind.ENTERPRISE
    can_sell = True
    can_buy = True
    address = "1 Hong Kong Road, Shinan District, Qingdao"
    contact_name = "Li Lei"
    contact_email = factory.Sequence(lambda n: f"contact{n}@example.com")
    status = VerificationStatus.VERIFIED
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, owner=None, status=VerificationStatus.VERIFIED, kind=None, **kwargs):
        if kind == OrganizationKind.REGULATOR:
            return services.regulator_register(user=owner, **kwargs)
        org = services.organization_register(user=owner, **kwargs)
        if status != VerificationStatus.PENDING:
            Organization.objects.filter(pk=org.pk).update(status=status)
            org.refresh_from_db()
        if status == VerificationStatus.VERIFIED:
            org.business_licence.save("licence.pdf", ContentFile(b"%PDF-1.4 test licence"), save=True)
        return org


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.EDITOR

    @classmethod
    def _create(cls, model_class, *args, user, organization, role, **kwargs):
        return services.membership_add(organization=organization, user=user, role=role, by=None)


def member(organization: Organization, role: str = Role.EDITOR) -> User:
    """A new user with `role` in `organization`."""
    return MembershipFactory(organization=organization, role=role).user


def owner_of(organization: Organization) -> User:
    return organization.memberships.get(role=Role.OWNER).user


class InvitationFactory(factory.Factory):
    """Returns (invitation, raw token)."""

    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.VIEWER

    @classmethod
    def _create(cls, model_class, *args, organization, email, role, **kwargs):
        return services.invitation_create(organization=organization, email=email, role=role, by=owner_of(organization))


class ApiKeyFactory(factory.Factory):
    """Returns (api_key, raw key)."""

    class Meta:
        model = ApiKey

    organization = factory.SubFactory(OrganizationFactory)
    name = "Partner ERP"
    scope = ApiKeyScope.WRITE
    expires_at = None

    @classmethod
    def _create(cls, model_class, *args, organization, **kwargs):
        return services.api_key_create(organization=organization, by=owner_of(organization), **kwargs)


# Sign-up form data (tests of the sign-up page and of the language chosen at sign-up).
NEW_PASSWORD = "blue-harbour-lantern-42"


def signup_data(**overrides) -> dict:
    data = {
        "full_name": "Wang Fang",
        "email": "wang.fang@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "name": "Qingdao Ocean Data Ltd",
        "credit_code": credit_code(),
        "can_sell": "on",
        "can_appraise": "on",
        "address": "8 Donghai Road, Qingdao",
        "contact_name": "Wang Fang",
        "contact_email": "contact@ocean.example.com",
        "contact_phone": "0532-8888 0000",
    }
    return {**data, **overrides}
