"""The accounts partner API: /me, organisations, memberships, invitations, API keys, scopes and throttling."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.api.throttling import ApiKeyRateThrottle
from accounts.choices import ApiKeyScope, Role, VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory, InvitationFactory, OrganizationFactory, member

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def owner_client(owner) -> APIClient:
    return signed_in(owner)


@pytest.fixture
def viewer(org):
    return member(org, Role.VIEWER)


@pytest.fixture
def viewer_client(viewer) -> APIClient:
    return signed_in(viewer)


@pytest.fixture
def read_key(org):
    return ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)


@pytest.fixture
def write_key(org):
    return ApiKeyFactory(organization=org, scope=ApiKeyScope.WRITE)


@pytest.fixture
def manage_key(org):
    return ApiKeyFactory(organization=org, scope=ApiKeyScope.MANAGE)


@pytest.fixture
def manage_client(manage_key) -> APIClient:
    return with_key(manage_key[1])


@pytest.fixture
def read_client(read_key) -> APIClient:
    return with_key(read_key[1])


@pytest.fixture
def write_client(write_key) -> APIClient:
    return with_key(write_key[1])


# --- every endpoint: anonymous and read-only keys ---------------------------------------------------------------

ENDPOINTS = [
    ("get", "/me/"),
    ("get", "/organizations/"),
    ("get", "/organizations/{org}/"),
    ("patch", "/organizations/{org}/"),
    ("get", "/memberships/"),
    ("get", "/memberships/{membership}/"),
    ("post", "/memberships/{membership}/role/"),
    ("delete", "/memberships/{membership}/"),
    ("get", "/invitations/"),
    ("post", "/invitations/"),
    ("get", "/invitations/{invitation}/"),
    ("post", "/invitations/{invitation}/revoke/"),
    ("get", "/api-keys/"),
    ("post", "/api-keys/"),
    ("get", "/api-keys/{key}/"),
    ("post", "/api-keys/{key}/revoke/"),
]
WRITES = [(method, path) for method, path in ENDPOINTS if method != "get"]
# What an owner or admin does, which a `write` key may not: every write here but issuing keys (people only).
MANAGES = [(method, path) for method, path in WRITES if (method, path) != ("post", "/api-keys/")]


@pytest.fixture
def ids(org, owner):
    invitation, _token = InvitationFactory(organization=org)
    key, _raw = ApiKeyFactory(organization=org)
    return {
        "org": org.pk,
        "membership": Membership.objects.get(user=owner, organization=org).pk,
        "invitation": invitation.pk,
        "key": key.pk,
    }


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_gets_401_with_api_key_challenge(api_client, ids, method, path):
    response = getattr(api_client, method)(API + path.format(**ids), {}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_read_key_may_not_write(read_client, ids, method, path):
    response = getattr(read_client, method)(API + path.format(**ids), {"role": "viewer"}, format="json")
    assert_error(response, 403, "insufficient_scope")
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert Membership.objects.filter(pk=ids["membership"]).exists()


@pytest.mark.parametrize(("method", "path"), MANAGES)
def test_write_key_may_not_manage(write_client, ids, method, path):
    response = getattr(write_client, method)(API + path.format(**ids), {"role": "viewer"}, format="json")
    assert "manage scope" in assert_error(response, 403, "insufficient_scope")["detail"]
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert Membership.objects.filter(pk=ids["membership"]).exists()


# --- /me --------------------------------------------------------------------------------------------------------


def test_me_for_a_signed_in_user_lists_memberships(org, other_org, owner):
    Membership.objects.filter(organization=other_org).delete()  # keep the factory's owner out of the picture
    services.membership_add(organization=other_org, user=owner, role=Role.VIEWER, by=None)

    body = signed_in(owner).get(f"{API}/me/").json()

    assert body["type"] == "user"
    assert (body["id"], body["email"], body["full_name"]) == (owner.pk, owner.email, owner.full_name)
    roles = {(m["organization"]["id"], m["organization"]["name"], m["role"]) for m in body["memberships"]}
    assert roles == {(org.pk, org.name, Role.OWNER), (other_org.pk, other_org.name, Role.VIEWER)}


def test_me_for_an_api_key_names_the_key_and_its_organisation(org):
    expires = timezone.now() + timedelta(days=30)
    key, raw = ApiKeyFactory(organization=org, scope=ApiKeyScope.READ, expires_at=expires)

    response = with_key(raw).get(f"{API}/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "api_key"
    assert body["organization"] == {"id": org.pk, "name": org.name, "status": VerificationStatus.VERIFIED}
    assert body["api_key"]["prefix"] == key.prefix
    assert body["api_key"]["scope"] == "read"
    assert body["api_key"]["expires_at"] is not None
    assert "key_hash" not in body["api_key"] and raw not in response.content.decode()


# --- organisations ----------------------------------------------------------------------------------------------


def test_organizations_list_only_the_callers(owner_client, org, other_org, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        response = owner_client.get(f"{API}/organizations/")
    assert response.status_code == 200
    assert [o["id"] for o in response.json()["results"]] == [org.pk]


def test_organizations_list_query_count_does_not_grow(owner, org, django_assert_max_num_queries):
    for _ in range(5):
        services.membership_add(organization=OrganizationFactory(), user=owner, role=Role.VIEWER, by=None)
    client = signed_in(owner)
    with django_assert_max_num_queries(5):
        response = client.get(f"{API}/organizations/")
    assert response.json()["count"] == 6


def test_api_key_sees_its_own_organisation(read_client, org, other_org):
    response = read_client.get(f"{API}/organizations/")
    assert [o["id"] for o in response.json()["results"]] == [org.pk]
    assert read_client.get(f"{API}/organizations/{org.pk}/").json()["credit_code"] == org.credit_code


def test_other_organisation_is_404(owner_client, read_client, other_org):
    assert_error(owner_client.get(f"{API}/organizations/{other_org.pk}/"), 404, "not_found")
    assert_error(read_client.get(f"{API}/organizations/{other_org.pk}/"), 404, "not_found")
    response = owner_client.patch(f"{API}/organizations/{other_org.pk}/", {"address": "x"}, format="json")
    assert_error(response, 404, "not_found")


def test_owner_updates_the_profile(owner_client, org):
    response = owner_client.patch(
        f"{API}/organizations/{org.pk}/", {"address": "2 Wusong Road", "can_appraise": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["address"] == "2 Wusong Road"
    org.refresh_from_db()
    assert (org.address, org.can_appraise) == ("2 Wusong Road", True)


def test_admin_updates_the_profile(org):
    response = signed_in(member(org, Role.ADMIN)).patch(
        f"{API}/organizations/{org.pk}/", {"contact_phone": "0532-1234"}, format="json"
    )
    assert response.status_code == 200


def test_viewer_and_editor_may_not_update_the_profile(viewer_client, org):
    response = viewer_client.patch(f"{API}/organizations/{org.pk}/", {"address": "elsewhere"}, format="json")
    assert_error(response, 403, "permission_denied")
    editor = signed_in(member(org, Role.EDITOR))
    assert_error(
        editor.patch(f"{API}/organizations/{org.pk}/", {"address": "x"}, format="json"), 403, "permission_denied"
    )
    org.refresh_from_db()
    assert org.address != "elsewhere"


def test_manage_key_updates_the_profile(manage_client, org):
    response = manage_client.patch(f"{API}/organizations/{org.pk}/", {"address": "2 Xianggang Road"}, format="json")
    assert response.status_code == 200, response.content
    assert Organization.objects.get(pk=org.pk).address == "2 Xianggang Road"


def test_manage_key_of_a_demoted_issuer_manages_no_more(manage_client, manage_key, org):
    # given the owner who issued the key is an admin now, then a viewer
    issuer = manage_key[0].created_by
    member(org, Role.OWNER)  # the organisation keeps an owner
    services.membership_change_role(membership=org.memberships.get(user=issuer), role=Role.ADMIN, by=issuer)
    assert manage_client.patch(f"{API}/organizations/{org.pk}/", {"address": "x"}, format="json").status_code == 200
    Membership.objects.filter(user=issuer, organization=org).update(role=Role.VIEWER)
    # then the key still writes, but no longer manages
    response = manage_client.patch(f"{API}/organizations/{org.pk}/", {"address": "y"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert Organization.objects.get(pk=org.pk).address == "x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"address": "x" * 301}, "address"),
        ({"name": "Renamed Co."}, "name"),
        ({"credit_code": "91370200MA0000001X"}, "credit_code"),
    ],
)
def test_bad_profile_update_is_400_with_fields(owner_client, org, body, field):
    response = owner_client.patch(f"{API}/organizations/{org.pk}/", body, format="json")
    assert field in assert_error(response, 400, "invalid")["fields"]
    assert Organization.objects.get(pk=org.pk).name == org.name


def test_put_is_not_offered(owner_client, org):
    assert_error(owner_client.put(f"{API}/organizations/{org.pk}/", {}, format="json"), 405, "method_not_allowed")


# --- memberships ------------------------------------------------------------------------------------------------


def test_memberships_list_own_organisation_only(owner_client, org, other_org, django_assert_max_num_queries):
    for _ in range(5):
        member(org, Role.VIEWER)
    member(other_org, Role.VIEWER)
    with django_assert_max_num_queries(5):
        response = owner_client.get(f"{API}/memberships/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 6
    assert {m["organization"]["id"] for m in results} == {org.pk}
    assert {"id", "email", "full_name"} == set(results[0]["user"])


def test_memberships_filter_by_role(owner_client, org):
    member(org, Role.VIEWER)
    response = owner_client.get(f"{API}/memberships/", {"role": "owner"})
    assert [m["role"] for m in response.json()["results"]] == ["owner"]


def test_membership_of_other_organisation_is_404(owner_client, other_org):
    other = Membership.objects.get(organization=other_org)
    assert_error(owner_client.get(f"{API}/memberships/{other.pk}/"), 404, "not_found")
    assert_error(owner_client.post(f"{API}/memberships/{other.pk}/role/", {"role": "viewer"}), 404, "not_found")
    assert_error(owner_client.delete(f"{API}/memberships/{other.pk}/"), 404, "not_found")
    assert Membership.objects.get(pk=other.pk).role == Role.OWNER


def test_owner_changes_a_role(owner_client, org, viewer):
    membership = Membership.objects.get(user=viewer, organization=org)
    response = owner_client.post(f"{API}/memberships/{membership.pk}/role/", {"role": "editor"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "editor"
    assert Membership.objects.get(pk=membership.pk).role == Role.EDITOR


def test_viewer_may_not_change_roles(viewer_client, org, owner):
    membership = Membership.objects.get(user=owner, organization=org)
    response = viewer_client.post(f"{API}/memberships/{membership.pk}/role/", {"role": "viewer"}, format="json")
    assert_error(response, 403, "permission_denied")


def test_admin_may_not_grant_owner(org, viewer):
    admin = signed_in(member(org, Role.ADMIN))
    membership = Membership.objects.get(user=viewer, organization=org)
    assert_error(admin.post(f"{API}/memberships/{membership.pk}/role/", {"role": "owner"}), 403, "permission_denied")


def test_manage_key_changes_roles_but_never_the_owner_role(manage_client, org, viewer, owner):
    membership = Membership.objects.get(user=viewer, organization=org)
    response = manage_client.post(f"{API}/memberships/{membership.pk}/role/", {"role": "editor"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "editor"
    response = manage_client.post(f"{API}/memberships/{membership.pk}/role/", {"role": "owner"}, format="json")
    assert_error(response, 403, "permission_denied")
    owners = Membership.objects.get(user=owner, organization=org)
    assert_error(manage_client.delete(f"{API}/memberships/{owners.pk}/"), 403, "permission_denied")
    assert Membership.objects.get(user=viewer, organization=org).role == Role.EDITOR


@pytest.mark.parametrize("body", [{"role": "emperor"}, {}, {"role": None}])
def test_bad_role_is_400(owner_client, org, viewer, body):
    membership = Membership.objects.get(user=viewer, organization=org)
    response = owner_client.post(f"{API}/memberships/{membership.pk}/role/", body, format="json")
    assert "role" in assert_error(response, 400, "invalid")["fields"]


def test_owner_removes_a_member(owner_client, org, viewer):
    membership = Membership.objects.get(user=viewer, organization=org)
    response = owner_client.delete(f"{API}/memberships/{membership.pk}/")
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_viewer_may_leave_but_not_remove_others(viewer_client, org, viewer, owner):
    owners = Membership.objects.get(user=owner, organization=org)
    assert_error(viewer_client.delete(f"{API}/memberships/{owners.pk}/"), 403, "permission_denied")
    own = Membership.objects.get(user=viewer, organization=org)
    assert viewer_client.delete(f"{API}/memberships/{own.pk}/").status_code == 204
    assert Membership.objects.filter(pk=owners.pk).exists()


def test_last_owner_cannot_be_removed(owner_client, org, owner):
    membership = Membership.objects.get(user=owner, organization=org)
    assert_error(owner_client.delete(f"{API}/memberships/{membership.pk}/"), 400, "last_owner")


def test_manage_key_removes_a_member(manage_client, write_client, org, viewer):
    membership = Membership.objects.get(user=viewer, organization=org)
    assert_error(write_client.delete(f"{API}/memberships/{membership.pk}/"), 403, "insufficient_scope")
    assert manage_client.delete(f"{API}/memberships/{membership.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


# --- invitations ------------------------------------------------------------------------------------------------


def test_owner_invites_someone(owner_client, org, owner):
    response = owner_client.post(
        f"{API}/invitations/", {"organization": org.pk, "email": "New@Example.com", "role": "editor"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"], body["state"]) == ("new@example.com", "editor", "open")
    assert body["organization"]["id"] == org.pk and body["invited_by"]["id"] == owner.pk
    assert "token" not in body and "token_hash" not in body
    assert Invitation.objects.get(pk=body["id"]).invited_by == owner


def test_invitation_token_goes_by_mail_after_commit_never_in_the_response(
    owner_client, org, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{API}/invitations/", {"organization": org.pk, "email": "a@example.com"})
    assert response.status_code == 201
    assert [m.to for m in mailoutbox] == [["a@example.com"]]
    invitation = Invitation.objects.get(pk=response.json()["id"])
    assert invitation.token_hash not in response.content.decode()


def test_invitation_needs_an_organisation_for_a_session_user(owner_client):
    response = owner_client.post(f"{API}/invitations/", {"email": "a@example.com"}, format="json")
    assert "organization" in assert_error(response, 400, "invalid")["fields"]


def test_invitation_to_an_organisation_the_user_does_not_manage_is_404(owner_client, viewer_client, org, other_org):
    body = {"organization": other_org.pk, "email": "a@example.com"}
    assert_error(owner_client.post(f"{API}/invitations/", body, format="json"), 404, "not_found")
    body = {"organization": org.pk, "email": "a@example.com"}
    assert_error(viewer_client.post(f"{API}/invitations/", body, format="json"), 404, "not_found")
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "role": "emperor"}, "role"),
        ({"role": "viewer"}, "email"),
        ({"email": "a@example.com", "token": "mine"}, "token"),
    ],
)
def test_bad_invitation_is_400(owner_client, org, body, field):
    response = owner_client.post(f"{API}/invitations/", {"organization": org.pk, **body}, format="json")
    assert field in assert_error(response, 400, "invalid")["fields"]


def test_duplicate_invitation_is_400_on_email(owner_client, org, viewer):
    InvitationFactory(organization=org, email="twice@example.com")
    for email in ("twice@example.com", viewer.email):
        response = owner_client.post(f"{API}/invitations/", {"organization": org.pk, "email": email}, format="json")
        assert "email" in assert_error(response, 400, "invalid")["fields"]


def test_manage_key_invites_in_its_issuers_name(manage_client, manage_key, org):
    response = manage_client.post(f"{API}/invitations/", {"email": "chen.jie@example.com"}, format="json")
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get(pk=response.json()["id"])
    assert invitation.organization == org and invitation.invited_by == manage_key[0].created_by
    revoked = manage_client.post(f"{API}/invitations/{invitation.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"


def test_write_key_may_not_invite(write_client, manage_client, org):
    response = write_client.post(f"{API}/invitations/", {"email": "a@example.com"}, format="json")
    assert_error(response, 403, "insufficient_scope")
    response = manage_client.post(f"{API}/invitations/", {"email": "a@example.com", "organization": 999999})
    assert_error(response, 404, "not_found")


def test_invitations_list_own_organisation_only(owner_client, org, other_org, django_assert_max_num_queries):
    for _ in range(5):
        InvitationFactory(organization=org)
    InvitationFactory(organization=other_org)
    with django_assert_max_num_queries(5):
        response = owner_client.get(f"{API}/invitations/")
    results = response.json()["results"]
    assert len(results) == 5 and {i["organization"]["id"] for i in results} == {org.pk}


def test_invitations_filter_open(owner_client, org, owner):
    invitation, _token = InvitationFactory(organization=org)
    services.invitation_revoke(invitation=invitation, by=owner)
    InvitationFactory(organization=org)
    assert [i["state"] for i in owner_client.get(f"{API}/invitations/", {"open": "true"}).json()["results"]] == ["open"]
    closed = owner_client.get(f"{API}/invitations/", {"open": "false"}).json()["results"]
    assert [i["state"] for i in closed] == ["revoked"]


def test_revoke_an_invitation(owner_client, viewer_client, org, other_org):
    invitation, _token = InvitationFactory(organization=org)
    assert_error(viewer_client.post(f"{API}/invitations/{invitation.pk}/revoke/"), 403, "permission_denied")

    response = owner_client.post(f"{API}/invitations/{invitation.pk}/revoke/")

    assert response.status_code == 200 and response.json()["state"] == "revoked"
    assert_error(owner_client.post(f"{API}/invitations/{invitation.pk}/revoke/"), 400, "invitation_closed")
    foreign, _token = InvitationFactory(organization=other_org)
    assert_error(owner_client.get(f"{API}/invitations/{foreign.pk}/"), 404, "not_found")
    assert_error(owner_client.post(f"{API}/invitations/{foreign.pk}/revoke/"), 404, "not_found")
    assert Invitation.objects.get(pk=foreign.pk).revoked_at is None


# --- API keys ---------------------------------------------------------------------------------------------------


def test_api_keys_list_never_shows_secrets(owner_client, org, other_org, django_assert_max_num_queries):
    raws = [ApiKeyFactory(organization=org)[1] for _ in range(5)]
    ApiKeyFactory(organization=other_org)
    with django_assert_max_num_queries(5):
        response = owner_client.get(f"{API}/api-keys/")
    results = response.json()["results"]
    assert len(results) == 5 and {k["organization"]["id"] for k in results} == {org.pk}
    assert not {"key", "key_hash"} & set(results[0])
    content = response.content.decode()
    assert not any(raw in content for raw in raws)
    assert not any(k.key_hash in content for k in ApiKey.objects.all())


def test_api_keys_filter_active(owner_client, org, owner):
    key, _raw = ApiKeyFactory(organization=org)
    services.api_key_revoke(api_key=key, by=owner)
    live, _raw = ApiKeyFactory(organization=org)
    assert [k["id"] for k in owner_client.get(f"{API}/api-keys/", {"active": "true"}).json()["results"]] == [live.pk]
    assert [k["id"] for k in owner_client.get(f"{API}/api-keys/", {"active": "false"}).json()["results"]] == [key.pk]


def test_api_key_of_other_organisation_is_404(owner_client, other_org):
    key, _raw = ApiKeyFactory(organization=other_org)
    assert_error(owner_client.get(f"{API}/api-keys/{key.pk}/"), 404, "not_found")
    assert_error(owner_client.post(f"{API}/api-keys/{key.pk}/revoke/"), 404, "not_found")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_create_api_key_for_other_or_unmanaged_organisation_is_404(owner_client, viewer_client, org, other_org):
    body = {"organization": other_org.pk, "name": "ERP", "scope": "read"}
    assert_error(owner_client.post(f"{API}/api-keys/", body, format="json"), 404, "not_found")
    body = {"organization": org.pk, "name": "ERP", "scope": "read"}
    assert_error(viewer_client.post(f"{API}/api-keys/", body, format="json"), 404, "not_found")
    assert not ApiKey.objects.exists()


def test_api_key_never_issues_keys(write_client, manage_client, org):
    body = {"organization": org.pk, "name": "Child", "scope": "write"}
    assert_error(write_client.post(f"{API}/api-keys/", body, format="json"), 403, "permission_denied")
    assert_error(manage_client.post(f"{API}/api-keys/", body, format="json"), 403, "permission_denied")
    assert ApiKey.objects.count() == 2


def test_only_a_manage_key_revokes_keys(write_client, write_key, manage_client):
    assert_error(write_client.post(f"{API}/api-keys/{write_key[0].pk}/revoke/"), 403, "insufficient_scope")
    response = manage_client.post(f"{API}/api-keys/{write_key[0].pk}/revoke/")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert_error(write_client.get(f"{API}/me/"), 401, "api_key_revoked")


def test_owner_issues_a_manage_key(owner_client, org):
    body = {"organization": org.pk, "name": "Back office", "scope": "manage"}
    response = owner_client.post(f"{API}/api-keys/", body, format="json")
    assert response.status_code == 201 and response.json()["scope"] == "manage"
    assert with_key(response.json()["key"]).get(f"{API}/me/").json()["api_key"]["scope"] == "manage"


# --- the business licence ---------------------------------------------------------------------------------------


def test_members_download_the_licence_and_others_get_404(read_client, org, other_org):
    response = read_client.get(f"{API}/organizations/{org.pk}/licence/")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Cache-Control"] == "no-store, private" or "no-store" in response["Cache-Control"]
    assert_error(read_client.get(f"{API}/organizations/{other_org.pk}/licence/"), 404, "not_found")


def test_a_pending_organisations_owner_uploads_the_licence():
    pending = OrganizationFactory(status=VerificationStatus.PENDING)
    client = signed_in(pending.memberships.get().user)
    licence = SimpleUploadedFile("licence.pdf", b"%PDF-1.4 business licence", content_type="application/pdf")
    response = client.post(f"{API}/organizations/{pending.pk}/licence/", {"business_licence": licence})
    assert response.status_code == 200 and response.json()["licence_uploaded_at"]
    text = SimpleUploadedFile("licence.txt", b"not a licence", content_type="text/plain")
    response = client.post(f"{API}/organizations/{pending.pk}/licence/", {"business_licence": text})
    assert "business_licence" in assert_error(response, 400, "invalid")["fields"]


def test_a_verified_organisations_licence_is_locked(manage_client, org):
    licence = SimpleUploadedFile("licence.pdf", b"%PDF-1.4 business licence", content_type="application/pdf")
    response = manage_client.post(f"{API}/organizations/{org.pk}/licence/", {"business_licence": licence})
    assert_error(response, 400, "licence_locked")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "read"}, "name"),
        ({"name": "ERP", "scope": "admin"}, "scope"),
        ({"name": "ERP", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "ERP", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),  # refused by the service
        ({"name": "   "}, "name"),
        ({"name": "ERP", "prefix": "dbk_mine"}, "prefix"),
    ],
)
def test_bad_api_key_body_is_400(owner_client, org, body, field):
    response = owner_client.post(f"{API}/api-keys/", {"organization": org.pk, **body}, format="json")
    assert field in assert_error(response, 400, "invalid")["fields"]
    assert not ApiKey.objects.exists()


def test_api_key_needs_an_organisation(owner_client):
    response = owner_client.post(f"{API}/api-keys/", {"name": "ERP"}, format="json")
    assert "organization" in assert_error(response, 400, "invalid")["fields"]


def test_unverified_organisation_gets_no_key():
    pending = OrganizationFactory(status=VerificationStatus.PENDING)
    client = signed_in(pending.memberships.get().user)
    response = client.post(f"{API}/api-keys/", {"organization": pending.pk, "name": "ERP"}, format="json")
    assert_error(response, 403, "organization_not_verified")


def test_viewer_may_not_revoke_keys(viewer_client, org):
    key, _raw = ApiKeyFactory(organization=org)
    assert_error(viewer_client.post(f"{API}/api-keys/{key.pk}/revoke/"), 403, "permission_denied")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_api_key_lifecycle_end_to_end(owner_client, org):
    # given a key created through the API
    response = owner_client.post(
        f"{API}/api-keys/", {"organization": org.pk, "name": "Partner ERP", "scope": "write"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    raw = created["key"]
    assert raw.startswith(created["prefix"] + "_")
    row = ApiKey.objects.filter(pk=created["id"]).values().get()
    assert not any(raw in str(value) for value in row.values())
    assert row["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert row["last_used_at"] is None
    # the raw key is never shown again
    assert "key" not in owner_client.get(f"{API}/api-keys/{created['id']}/").json()

    # when the partner uses it
    partner = with_key(raw)
    me = partner.get(f"{API}/me/")
    assert me.status_code == 200 and me.json()["api_key"]["id"] == created["id"]
    assert ApiKey.objects.get(pk=created["id"]).last_used_at is not None

    # then revoking it locks the partner out
    revoked = owner_client.post(f"{API}/api-keys/{created['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["is_active"] is False
    response = partner.get(f"{API}/me/")
    assert_error(response, 401, "api_key_revoked")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert_error(owner_client.post(f"{API}/api-keys/{created['id']}/revoke/"), 400, "api_key_revoked")


def test_expired_key_is_401(owner_client, org):
    soon = (timezone.now() + timedelta(minutes=5)).isoformat()
    response = owner_client.post(
        f"{API}/api-keys/", {"organization": org.pk, "name": "Short", "expires_at": soon}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    partner = with_key(body["key"])
    assert partner.get(f"{API}/me/").status_code == 200
    ApiKey.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(partner.get(f"{API}/me/"), 401, "api_key_expired")


def test_key_of_suspended_organisation_is_401(org, read_key):
    partner = with_key(read_key[1])
    assert partner.get(f"{API}/organizations/").status_code == 200
    services.organization_suspend(organization=org, by=None, reason="Licence under investigation")

    response = partner.get(f"{API}/organizations/")

    assert_error(response, 401, "organization_not_verified")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("raw", ["dbk_0000_nope", "nonsense", "dbk_a_b_c"])
def test_invalid_key_is_401(org, read_key, raw):
    assert_error(with_key(raw).get(f"{API}/me/"), 401, "api_key_invalid")


def test_tampered_key_is_401(read_key):
    raw = read_key[1]
    assert_error(with_key(raw[:-1] + ("0" if raw[-1] != "0" else "1")).get(f"{API}/me/"), 401, "api_key_invalid")


# --- throttling -------------------------------------------------------------------------------------------------


def test_key_is_throttled_after_its_rate(monkeypatch, org, read_key, owner):
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "3/min", raising=False)
    partner = with_key(read_key[1])
    for _ in range(3):
        assert partner.get(f"{API}/me/").status_code == 200

    response = partner.get(f"{API}/me/")

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # the limit is per key, and people signed in with a session are not throttled by it
    _other, other_raw = ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)
    assert with_key(other_raw).get(f"{API}/me/").status_code == 200
    session = signed_in(owner)
    assert all(session.get(f"{API}/me/").status_code == 200 for _ in range(5))


# --- schema -----------------------------------------------------------------------------------------------------


def test_schema_documents_every_endpoint(api_client):
    response = api_client.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for _method, path in ENDPOINTS:
        templated = path.replace("{org}", "{id}").replace("{membership}", "{id}")
        templated = templated.replace("{invitation}", "{id}").replace("{key}", "{id}")
        assert f"{API}{templated}" in paths, templated
