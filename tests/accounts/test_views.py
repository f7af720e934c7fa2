import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.choices import Role, VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from accounts.web import ACTIVE_ORGANIZATION_SESSION_KEY
from tests.factories import ApiKeyFactory, InvitationFactory, OrganizationFactory, UserFactory, credit_code, member
from tests.factories.accounts import NEW_PASSWORD, PASSWORD, owner_of, signup_data

pytestmark = pytest.mark.django_db


def bad_check_character(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


@pytest.fixture
def regulator():
    org = OrganizationFactory(kind="regulator", can_sell=False, can_buy=False)
    return owner_of(org)


# --- sign-up ----------------------------------------------------------------------------------------------------


class TestSignUp:
    url = reverse("accounts:register")

    def test_page_renders_for_guests(self, client):
        response = client.get(self.url)
        assert response.status_code == 200
        assert b'name="credit_code"' in response.content
        assert b'name="password1"' in response.content

    def test_creates_user_and_pending_organisation_and_signs_in(self, client):
        response = client.post(self.url, signup_data())

        assert response.status_code == 302
        assert response.url == reverse("accounts:organization")
        user = User.objects.get(email="wang.fang@example.com")
        org = Organization.objects.get(name="Qingdao Ocean Data Ltd")
        assert org.status == VerificationStatus.PENDING
        assert (org.can_sell, org.can_buy, org.can_appraise) == (True, False, True)
        assert org.memberships.get().user == user
        assert org.memberships.get().role == Role.OWNER
        assert client.session[ACTIVE_ORGANIZATION_SESSION_KEY] == org.pk
        page = client.get(response.url)
        assert page.status_code == 200
        assert "Qingdao Ocean Data Ltd" in page.content.decode()

    def test_wrong_check_character_is_shown_on_the_field_and_nothing_is_written(self, client):
        response = client.post(self.url, signup_data(credit_code=bad_check_character(credit_code())))

        assert response.status_code == 200
        assert "credit_code" in response.context["org_form"].errors
        assert "The check character is wrong" in response.content.decode()
        assert 'aria-invalid="true"' in response.content.decode()
        assert not User.objects.exists()
        assert not Organization.objects.exists()

    def test_duplicate_credit_code_rolls_back_the_new_user(self, client, org):
        users_before = User.objects.count()

        response = client.post(self.url, signup_data(credit_code=org.credit_code))

        assert response.status_code == 200
        errors = response.context["org_form"].errors["credit_code"]
        assert errors == ["An organisation with this unified social credit code is already registered."]
        assert User.objects.count() == users_before
        assert not User.objects.filter(email="wang.fang@example.com").exists()
        assert Organization.objects.count() == 1
        assert "_auth_user_id" not in client.session

    def test_duplicate_email_is_shown_on_the_email_field_and_no_organisation_is_created(self, client):
        UserFactory(email="wang.fang@example.com")

        response = client.post(self.url, signup_data(email="Wang.Fang@example.com"))

        assert response.status_code == 200
        assert response.context["account_form"].errors["email"] == ["A user with this e-mail address already exists."]
        assert User.objects.count() == 1
        assert not Organization.objects.exists()

    def test_password_mismatch_and_weak_password(self, client):
        response = client.post(self.url, signup_data(password2="something-else-entirely"))
        assert "password2" in response.context["account_form"].errors
        response = client.post(self.url, signup_data(password1="12345678", password2="12345678"))
        assert "password1" in response.context["account_form"].errors
        assert not User.objects.exists()

    def test_signed_in_user_registers_another_organisation(self, client, owner, org):
        client.force_login(owner)
        data = {k: v for k, v in signup_data().items() if k not in ("full_name", "email", "password1", "password2")}

        response = client.post(self.url, data)

        assert response.status_code == 302
        new = Organization.objects.get(name="Qingdao Ocean Data Ltd")
        assert Membership.objects.get(organization=new).user == owner
        assert client.session[ACTIVE_ORGANIZATION_SESSION_KEY] == new.pk


# --- sign-in and lockout ----------------------------------------------------------------------------------------


class TestSignIn:
    url = reverse("accounts:login")

    def test_sign_in_with_email_is_case_insensitive(self, client):
        user = UserFactory(email="li.lei@example.com")

        response = client.post(self.url, {"username": "Li.Lei@Example.com", "password": PASSWORD})

        assert response.status_code == 302
        assert response.url == reverse("home")
        assert client.session["_auth_user_id"] == str(user.pk)

    def test_form_is_labelled_email(self, client):
        content = client.get(self.url).content.decode()
        assert '<label for="id_username">E-mail</label>' in content

    def test_wrong_password_shows_an_error(self, client):
        UserFactory(email="li.lei@example.com")
        response = client.post(self.url, {"username": "li.lei@example.com", "password": "wrong"})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()

    def test_fourth_wrong_password_is_locked_out(self, client, settings):
        assert settings.AXES_FAILURE_LIMIT == 3
        UserFactory(email="li.lei@example.com")
        for _attempt in range(3):
            client.post(self.url, {"username": "li.lei@example.com", "password": "wrong"})

        response = client.post(self.url, {"username": "li.lei@example.com", "password": "wrong"})

        assert response.status_code in (403, 429)
        assert "accounts/locked_out.html" in [t.name for t in response.templates]
        assert "Too many sign-in attempts" in response.content.decode()
        # Even the right password is refused while the lock lasts, also with the address in other case.
        response = client.post(self.url, {"username": "LI.LEI@example.com", "password": PASSWORD})
        assert response.status_code in (403, 429)
        assert "_auth_user_id" not in client.session

    def test_failures_for_one_address_do_not_lock_another(self, client):
        UserFactory(email="li.lei@example.com")
        other = UserFactory(email="han.mei@example.com")
        for _attempt in range(4):
            client.post(self.url, {"username": "li.lei@example.com", "password": "wrong"})
        response = client.post(self.url, {"username": other.email, "password": PASSWORD})
        assert response.status_code == 302

    def test_sign_out_is_a_post(self, client, owner):
        client.force_login(owner)
        assert client.get(reverse("accounts:logout")).status_code == 405
        response = client.post(reverse("accounts:logout"))
        assert response.status_code == 302
        assert "_auth_user_id" not in client.session


# --- the organisation -------------------------------------------------------------------------------------------


class TestOrganizationPage:
    url = reverse("accounts:organization")

    def test_own_organisation(self, client, org, owner):
        client.force_login(owner)
        response = client.get(self.url)
        content = response.content.decode()
        assert response.status_code == 200
        assert org.name in content
        assert org.credit_code in content
        assert "Sells data (data merchant)" in content
        assert reverse("accounts:licence_download", args=[org.pk]) in content

    def test_anonymous_is_sent_to_sign_in(self, client):
        response = client.get(self.url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))

    def test_user_without_organisation_is_sent_to_register(self, client):
        client.force_login(UserFactory())
        response = client.get(self.url)
        assert response.status_code == 302
        assert response.url == reverse("accounts:register")

    def test_rejected_shows_the_regulators_reason(self, client, regulator):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        services.organization_reject(organization=org, by=regulator, reason="The licence scan is unreadable.")
        client.force_login(owner_of(org))
        content = client.get(self.url).content.decode()
        assert "The licence scan is unreadable." in content
        assert 'name="business_licence"' in content

    def test_switching_organisation(self, client, org, other_org):
        user = member(org, Role.VIEWER)
        services.membership_add(organization=other_org, user=user, role=Role.ADMIN, by=None)
        client.force_login(user)

        response = client.post(
            reverse("accounts:organization_switch"), {"organization": other_org.pk, "next": self.url}
        )

        assert response.status_code == 302
        assert response.url == self.url
        assert client.session[ACTIVE_ORGANIZATION_SESSION_KEY] == other_org.pk
        assert other_org.name in client.get(self.url).context["organization"].name

    def test_cannot_switch_to_someone_elses_organisation(self, client, org, owner, other_org):
        client.force_login(owner)
        response = client.post(reverse("accounts:organization_switch"), {"organization": other_org.pk})
        assert response.status_code == 404

    def test_switch_ignores_an_external_next(self, client, org, owner):
        client.force_login(owner)
        response = client.post(
            reverse("accounts:organization_switch"), {"organization": org.pk, "next": "https://evil.example/"}
        )
        assert response.url == reverse("home")


class TestOrganizationEdit:
    url = reverse("accounts:organization_edit")

    def test_owner_edits_the_profile(self, client, org, owner):
        client.force_login(owner)
        data = {
            "address": "2 New Road",
            "contact_name": "Han Mei",
            "contact_email": "han@example.com",
            "can_buy": "on",
            "can_operate_public_data": "on",
        }

        response = client.post(self.url, data)

        assert response.status_code == 302
        org.refresh_from_db()
        assert (org.address, org.contact_name, org.can_sell, org.can_operate_public_data) == (
            "2 New Road",
            "Han Mei",
            False,
            True,
        )

    def test_bad_input_stays_on_the_form(self, client, org, owner):
        client.force_login(owner)
        response = client.post(self.url, {"address": "", "contact_name": "x", "contact_email": "not-an-email"})
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {"address", "contact_email"}

    def test_viewer_is_forbidden(self, client, org):
        client.force_login(member(org, Role.VIEWER))
        assert client.get(self.url).status_code == 403
        assert (
            client.post(self.url, {"address": "x", "contact_name": "x", "contact_email": "a@b.cn"}).status_code == 403
        )


class TestLicence:
    def test_upload(self, client):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        client.force_login(owner_of(org))
        licence = SimpleUploadedFile("licence.pdf", b"%PDF-1.7 scanned licence", content_type="application/pdf")

        response = client.post(reverse("accounts:licence_upload"), {"business_licence": licence})

        assert response.status_code == 302
        org.refresh_from_db()
        assert org.business_licence
        assert org.licence_uploaded_at is not None

    def test_upload_of_a_wrong_file_type_is_a_field_error(self, client):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        client.force_login(owner_of(org))
        fake = SimpleUploadedFile("licence.pdf", b"MZ not a pdf at all", content_type="application/pdf")

        response = client.post(reverse("accounts:licence_upload"), {"business_licence": fake})

        assert response.status_code == 200
        assert response.context["licence_form"].errors["business_licence"] == [
            "Upload the licence as a PDF, PNG or JPEG file."
        ]
        org.refresh_from_db()
        assert not org.business_licence

    def test_viewer_cannot_upload(self, client):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        client.force_login(member(org, Role.VIEWER))
        licence = SimpleUploadedFile("licence.pdf", b"%PDF-1.7", content_type="application/pdf")
        response = client.post(reverse("accounts:licence_upload"), {"business_licence": licence})
        assert response.status_code == 403
        org.refresh_from_db()
        assert not org.business_licence

    def test_members_download_their_licence(self, client, org):
        client.force_login(member(org, Role.VIEWER))
        response = client.get(reverse("accounts:licence_download", args=[org.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"%PDF-1.4 test licence"
        assert response["Content-Disposition"].startswith("attachment")
        assert "no-store" in response["Cache-Control"]

    def test_another_organisations_licence_is_404(self, client, org, owner, other_org):
        client.force_login(owner)
        assert client.get(reverse("accounts:licence_download", args=[other_org.pk])).status_code == 404

    def test_regulator_staff_download_any_licence_after_two_factor(self, client, regulator, org):
        url = reverse("accounts:licence_download", args=[org.pk])
        client.force_login(regulator)
        assert client.get(url).status_code == 404  # password only
        device = TOTPDevice.objects.create(user=regulator, name="phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        assert client.get(url).status_code == 200

    def test_superuser_without_two_factor_gets_404(self, client, org):
        client.force_login(User.objects.create_superuser("root@example.com", PASSWORD, full_name="Root"))
        assert client.get(reverse("accounts:licence_download", args=[org.pk])).status_code == 404

    def test_anonymous_cannot_download(self, client, org):
        response = client.get(reverse("accounts:licence_download", args=[org.pk]))
        assert response.status_code == 302


# --- members and invitations ------------------------------------------------------------------------------------


class TestMembers:
    url = reverse("accounts:members")

    def test_list_shows_members_and_management_for_owners(self, client, org, owner):
        editor = member(org, Role.EDITOR)
        client.force_login(owner)
        content = client.get(self.url).content.decode()
        assert editor.email in content
        assert reverse("accounts:membership_role", args=[editor.memberships.get().pk]) in content
        assert 'name="email"' in content  # the invitation form

    def test_viewer_sees_the_list_but_no_management(self, client, org, owner):
        viewer = member(org, Role.VIEWER)
        client.force_login(viewer)
        response = client.get(self.url)
        content = response.content.decode()
        assert response.status_code == 200
        assert owner.email in content
        assert reverse("accounts:membership_role", args=[owner.memberships.get().pk]) not in content
        assert reverse("accounts:invitation_create") not in content

    def test_viewer_cannot_change_roles(self, client, org):
        viewer = member(org, Role.VIEWER)
        editor = member(org, Role.EDITOR)
        target = editor.memberships.get()
        client.force_login(viewer)

        response = client.post(reverse("accounts:membership_role", args=[target.pk]), {"role": Role.ADMIN})

        assert response.status_code == 403
        assert "does not allow this" in response.content.decode()
        target.refresh_from_db()
        assert target.role == Role.EDITOR

    def test_owner_changes_a_role(self, client, org, owner):
        target = member(org, Role.VIEWER).memberships.get()
        client.force_login(owner)
        response = client.post(reverse("accounts:membership_role", args=[target.pk]), {"role": Role.EDITOR})
        assert response.status_code == 302
        target.refresh_from_db()
        assert target.role == Role.EDITOR

    def test_last_owner_cannot_leave(self, client, org, owner):
        client.force_login(owner)
        response = client.post(reverse("accounts:membership_remove", args=[owner.memberships.get().pk]))
        assert response.status_code == 400
        assert "at least one owner" in response.content.decode()
        assert Membership.objects.filter(user=owner, organization=org).exists()

    def test_member_leaves(self, client, org):
        editor = member(org, Role.EDITOR)
        client.force_login(editor)
        response = client.post(reverse("accounts:membership_remove", args=[editor.memberships.get().pk]))
        assert response.status_code == 302
        assert not Membership.objects.filter(user=editor).exists()

    def test_owner_removes_a_member(self, client, org, owner):
        editor = member(org, Role.EDITOR)
        client.force_login(owner)
        response = client.post(reverse("accounts:membership_remove", args=[editor.memberships.get().pk]))
        assert response.status_code == 302
        assert not Membership.objects.filter(user=editor).exists()

    def test_another_organisations_membership_is_404(self, client, org, owner, other_org):
        client.force_login(owner)
        theirs = owner_of(other_org).memberships.get()
        response = client.post(reverse("accounts:membership_role", args=[theirs.pk]), {"role": Role.VIEWER})
        assert response.status_code == 404

    def test_pagination_after_25(self, client, org, owner):
        for _n in range(26):
            member(org, Role.VIEWER)
        client.force_login(owner)
        first = client.get(self.url)
        assert len(first.context["members_page"].object_list) == 25
        assert "page=2" in first.content.decode()
        assert len(client.get(self.url, {"page": 2}).context["members_page"].object_list) == 2


class TestInvitations:
    def test_invite_sends_the_link(self, client, org, owner, django_capture_on_commit_callbacks):
        client.force_login(owner)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("accounts:invitation_create"), {"email": "New@Example.com", "role": "editor"}
            )

        assert response.status_code == 302
        invitation = Invitation.objects.get(organization=org)
        assert (invitation.email, invitation.role) == ("new@example.com", Role.EDITOR)
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["new@example.com"]
        assert re.search(r"/accounts/invitations/[\w-]+/", mail.outbox[0].body)

    def test_inviting_a_member_is_a_field_error(self, client, org, owner):
        client.force_login(owner)
        response = client.post(reverse("accounts:invitation_create"), {"email": owner.email, "role": "viewer"})
        assert response.status_code == 200
        assert response.context["invite_form"].errors["email"] == ["This person is already a member."]

    def test_viewer_cannot_invite(self, client, org):
        client.force_login(member(org, Role.VIEWER))
        response = client.post(reverse("accounts:invitation_create"), {"email": "x@example.com", "role": "viewer"})
        assert response.status_code == 403
        assert not Invitation.objects.exists()

    def test_revoke(self, client, org, owner):
        invitation, _token = InvitationFactory(organization=org)
        client.force_login(owner)
        response = client.post(reverse("accounts:invitation_revoke", args=[invitation.pk]))
        assert response.status_code == 302
        invitation.refresh_from_db()
        assert invitation.revoked_at is not None

    def test_accept_page_for_a_guest_offers_sign_in_and_sign_up(self, client, org):
        _invitation, token = InvitationFactory(organization=org, email="guest@example.com")
        response = client.get(reverse("accounts:invitation_accept", args=[token]))
        content = response.content.decode()
        assert response.status_code == 200
        assert org.name in content
        assert "guest@example.com" in content
        assert reverse("accounts:invitation_signup", args=[token]) in content
        assert response.context["signup_form"]["email"].value() == "guest@example.com"

    def test_right_user_accepts(self, client, org):
        invitee = UserFactory(email="invitee@example.com")
        _invitation, token = InvitationFactory(organization=org, email="invitee@example.com", role=Role.EDITOR)
        client.force_login(invitee)

        response = client.post(reverse("accounts:invitation_accept", args=[token]))

        assert response.status_code == 302
        assert Membership.objects.get(user=invitee, organization=org).role == Role.EDITOR
        assert client.session[ACTIVE_ORGANIZATION_SESSION_KEY] == org.pk

    def test_wrong_user_gets_the_reason(self, client, org):
        _invitation, token = InvitationFactory(organization=org, email="invitee@example.com")
        someone = UserFactory(email="someone@example.com")
        client.force_login(someone)

        response = client.post(reverse("accounts:invitation_accept", args=[token]))

        assert response.status_code == 400
        assert "This invitation was sent to invitee@example.com" in response.content.decode()
        assert not Membership.objects.filter(user=someone).exists()

    def test_guest_creates_an_account_and_joins(self, client, org):
        _invitation, token = InvitationFactory(organization=org, email="guest@example.com")
        data = {
            "full_name": "Guest",
            "email": "ignored@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        }

        response = client.post(reverse("accounts:invitation_signup", args=[token]), data)

        assert response.status_code == 302
        user = User.objects.get(email="guest@example.com")  # the invited address, not the posted one
        assert Membership.objects.filter(user=user, organization=org, role=Role.VIEWER).exists()
        assert client.session["_auth_user_id"] == str(user.pk)

    def test_guest_sign_up_with_a_taken_address_writes_nothing(self, client, org):
        UserFactory(email="guest@example.com")
        _invitation, token = InvitationFactory(organization=org, email="guest@example.com")
        data = {"full_name": "Guest", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

        response = client.post(reverse("accounts:invitation_signup", args=[token]), data)

        assert response.status_code == 200
        assert "A user with this e-mail address already exists." in response.content.decode()
        assert not Membership.objects.filter(user__email="guest@example.com").exists()

    @pytest.mark.parametrize(
        ("spoil", "message"),
        [
            ("revoke", "This invitation was withdrawn."),
            ("use", "This invitation has already been used."),
            ("expire", "This invitation has expired; ask for a new one."),
        ],
    )
    def test_unusable_invitation_says_why(self, client, org, owner, spoil, message):
        invitation, token = InvitationFactory(organization=org, email="invitee@example.com")
        if spoil == "revoke":
            services.invitation_revoke(invitation=invitation, by=owner)
        elif spoil == "use":
            services.invitation_accept(token=token, user=UserFactory(email="invitee@example.com"))
        else:
            Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

        response = client.get(reverse("accounts:invitation_accept", args=[token]))

        assert response.status_code == 400
        assert message in response.content.decode()

    def test_unknown_token(self, client):
        response = client.get(reverse("accounts:invitation_accept", args=["no-such-token"]))
        assert response.status_code == 400
        assert "This invitation link is not valid." in response.content.decode()


# --- API keys ---------------------------------------------------------------------------------------------------


class TestApiKeys:
    url = reverse("accounts:api_keys")

    def test_create_shows_the_raw_key_once(self, client, org, owner):
        client.force_login(owner)

        response = client.post(self.url, {"name": "ERP", "scope": "read", "expires_at": ""})

        assert response.status_code == 200
        key = ApiKey.objects.get(organization=org)
        raw = response.context["raw_key"]
        assert raw.startswith(key.prefix + "_")
        assert raw in response.content.decode()
        assert "no-store" in response["Cache-Control"]
        assert services.api_key_authenticate(raw) == key
        listing = client.get(self.url).content.decode()
        assert key.prefix in listing
        assert raw not in listing
        assert raw not in str(dict(client.session))

    def test_expiry_date_is_the_end_of_that_day(self, client, org, owner):
        client.force_login(owner)
        day = timezone.localdate() + timedelta(days=30)
        client.post(self.url, {"name": "ERP", "scope": "write", "expires_at": day.isoformat()})
        key = ApiKey.objects.get(organization=org)
        assert timezone.localtime(key.expires_at).date() == day + timedelta(days=1)
        assert key.scope == "write"

    def test_past_expiry_is_a_field_error(self, client, org, owner):
        client.force_login(owner)
        day = timezone.localdate() - timedelta(days=2)
        response = client.post(self.url, {"name": "ERP", "scope": "read", "expires_at": day.isoformat()})
        assert response.status_code == 200
        assert response.context["form"].errors["expires_at"] == ["The expiry must be in the future."]
        assert not ApiKey.objects.exists()

    def test_unverified_organisation_cannot_create(self, client):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        client.force_login(owner_of(org))
        page = client.get(self.url).content.decode()
        assert "The organisation is not verified" in page
        assert 'name="scope"' not in page

        response = client.post(self.url, {"name": "ERP", "scope": "read"})

        assert response.status_code == 403
        assert "only verified organisations can do this" in response.content.decode().lower()
        assert not ApiKey.objects.exists()

    def test_viewer_cannot_create(self, client, org):
        client.force_login(member(org, Role.VIEWER))
        response = client.post(self.url, {"name": "ERP", "scope": "read"})
        assert response.status_code == 403
        assert not ApiKey.objects.exists()

    def test_revoke(self, client, org, owner):
        key, _raw = ApiKeyFactory(organization=org)
        client.force_login(owner)
        response = client.post(reverse("accounts:api_key_revoke", args=[key.pk]))
        assert response.status_code == 302
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert "Revoked" in client.get(self.url).content.decode()

    def test_revoking_another_organisations_key_is_404(self, client, org, owner, other_org):
        key, _raw = ApiKeyFactory(organization=other_org)
        client.force_login(owner)
        assert client.post(reverse("accounts:api_key_revoke", args=[key.pk])).status_code == 404
        key.refresh_from_db()
        assert key.revoked_at is None


# --- two-factor -------------------------------------------------------------------------------------------------


class TestTwoFactor:
    url = reverse("accounts:two_factor")

    def test_staff_confirm_a_device_with_a_current_code(self, client, regulator):
        client.force_login(regulator)
        page = client.get(self.url)
        assert page.status_code == 200
        device = TOTPDevice.objects.get(user=regulator)
        assert not device.confirmed
        content = page.content.decode()
        assert "<svg" in content
        assert "<img" not in content.split('class="qr"')[1].split("</div>")[0]
        assert page.context["secret"].replace(" ", "") in device.config_url

        token = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        response = client.post(self.url, {"token": token})

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        assert "Two-factor authentication is on" in client.get(self.url).content.decode()

    def test_wrong_code_is_refused(self, client, regulator):
        client.force_login(regulator)
        client.get(self.url)
        response = client.post(self.url, {"token": "000000"})
        assert response.status_code == 200
        assert response.context["form"].errors["token"]
        assert not TOTPDevice.objects.get(user=regulator).confirmed

    def test_a_confirmed_device_is_not_shown_again(self, client, regulator):
        TOTPDevice.objects.create(user=regulator, name="phone", confirmed=True)
        client.force_login(regulator)
        response = client.get(self.url)
        assert response.context["confirmed"] is True
        assert "<svg" not in response.content.decode()
        assert TOTPDevice.objects.filter(user=regulator).count() == 1

    def test_not_for_non_staff(self, client, owner):
        client.force_login(owner)
        assert client.get(self.url).status_code == 403
        assert not TOTPDevice.objects.exists()


# --- layout -----------------------------------------------------------------------------------------------------


class TestLayout:
    @pytest.mark.parametrize(
        ("signed_in", "names"),
        [
            (False, ["home", "accounts:login", "accounts:register"]),
            (True, ["home", "accounts:organization", "accounts:members", "accounts:api_keys"]),
        ],
    )
    def test_pages_have_no_inline_styles_and_nonced_scripts(self, client, org, owner, signed_in, names):
        if signed_in:
            client.force_login(owner)
        for name in names:
            response = client.get(reverse(name))
            content = response.content.decode()
            assert response.status_code == 200, name
            assert " style=" not in content, name
            assert "<style" not in content, name
            scripts = re.findall(r"<script[^>]*>", content)
            assert scripts, name
            assert all('nonce="' in tag and " src=" in tag for tag in scripts), name
            nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
            assert f'nonce="{nonce}"' in content

    def test_navigation_for_staff_and_switcher_for_several_organisations(self, client, regulator, org):
        services.membership_add(organization=org, user=regulator, role=Role.VIEWER, by=None)
        client.force_login(regulator)
        content = client.get(reverse("home")).content.decode()
        assert reverse("admin:index") in content
        assert reverse("accounts:two_factor") in content
        assert reverse("accounts:organization_switch") in content

    def test_404_uses_the_layout(self, client):
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()
        assert "site-header" in response.content.decode()
