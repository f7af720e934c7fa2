import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.choices import ApiKeyScope, Role
from accounts.models import ApiKey, ApiKeyPrincipal, Invitation, Membership, Organization
from tests.factories import ApiKeyFactory, InvitationFactory, OrganizationFactory, UserFactory, member
from tests.factories.accounts import owner_of

pytestmark = pytest.mark.django_db


def test_members_see_only_their_own_organisation(org, other_org, owner):
    assert list(Organization.objects.restrict(owner)) == [org]
    assert list(Organization.objects.restrict(owner_of(other_org))) == [other_org]


def test_owned_objects_are_scoped_by_organisation(org, other_org, owner):
    ApiKeyFactory(organization=org)
    ApiKeyFactory(organization=other_org)
    InvitationFactory(organization=other_org)
    assert set(ApiKey.objects.restrict(owner).values_list("organization", flat=True)) == {org.pk}
    assert not Invitation.objects.restrict(owner).exists()
    assert set(Membership.objects.restrict(owner).values_list("organization", flat=True)) == {org.pk}


@pytest.mark.parametrize(
    ("role", "view", "change", "delete", "manage"),
    [
        (Role.VIEWER, True, False, False, False),
        (Role.EDITOR, True, True, False, False),
        (Role.ADMIN, True, True, True, True),
        (Role.OWNER, True, True, True, True),
    ],
)
def test_roles_limit_actions(org, role, view, change, delete, manage):
    user = owner_of(org) if role == Role.OWNER else member(org, role)
    qs = Organization.objects.all()
    assert qs.restrict(user, "view").exists() is view
    assert qs.restrict(user, "change").exists() is change
    assert Membership.objects.restrict(user, "delete").exists() is delete
    assert qs.restrict(user, "manage").exists() is manage


def test_anonymous_and_outsiders_see_nothing(org):
    assert not Organization.objects.restrict(AnonymousUser()).exists()
    assert not Organization.objects.restrict(UserFactory()).exists()
    assert not Organization.objects.restrict(None).exists()


def test_superuser_sees_everything_only_after_two_factor(org, other_org):
    admin = UserFactory(is_superuser=True)
    assert not Organization.objects.restrict(admin).exists()
    admin.is_verified = lambda: True  # what django-otp's middleware sets after a TOTP login
    assert Organization.objects.restrict(admin).count() == 2


def test_api_key_principal_is_scoped_to_its_organisation_and_scope(org, other_org):
    read_key, _ = ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)
    write_key, _ = ApiKeyFactory(organization=org, scope=ApiKeyScope.WRITE)
    read, write = ApiKeyPrincipal(read_key), ApiKeyPrincipal(write_key)
    assert list(Organization.objects.restrict(read)) == [org]
    assert not Organization.objects.restrict(read, "change").exists()
    assert list(Organization.objects.restrict(write, "change")) == [org]
    assert not Organization.objects.restrict(write, "manage").exists()


def test_member_of_two_organisations_acts_by_role_in_each(org, other_org):
    user = member(org, Role.ADMIN)
    Membership.objects.create(user=user, organization=other_org, role=Role.VIEWER)
    user.groups.add(other_org.group)
    assert Organization.objects.restrict(user).count() == 2
    assert list(Organization.objects.restrict(user, "manage")) == [org]


def test_restrict_query_count_does_not_grow(org, owner, django_assert_num_queries):
    for _ in range(5):
        ApiKeyFactory(organization=org)
    with django_assert_num_queries(2):  # content type is cached after the first lookup; one query for the rows
        list(ApiKey.objects.restrict(owner).select_related("organization"))
        list(ApiKey.objects.restrict(owner).select_related("organization"))


def test_pending_organisation_members_still_see_their_drafts():
    org = OrganizationFactory(status="pending")
    assert list(Organization.objects.restrict(owner_of(org))) == [org]
