from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import totp

from accounts import access_services, services
from accounts.choices import ApiKeyScope, Role, VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from audit.models import AuditEvent
from audit.services import ledger_verify
from core import mail as core_mail
from core.errors import DomainError, InvalidTransition, OrganizationNotVerified, PermissionDeniedError
from tests.factories import ApiKeyFactory, InvitationFactory, OrganizationFactory, UserFactory, credit_code, member
from tests.factories.accounts import owner_of

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 licence scan"


def _register(**overrides):
    fields = dict(
        user=UserFactory(),
        name="Qingdao Marine Data",
        credit_code=credit_code(),
        address="Qingdao",
        contact_name="Li",
        contact_email="li@example.com",
        can_sell=True,
    )
    return services.organization_register(**{**fields, **overrides})


@pytest.fixture
def regulator():
    org = OrganizationFactory(kind="regulator", can_sell=False, can_buy=False)
    return owner_of(org)


class TestOrganizationRegister:
    def test_registers_pending_with_owner_group_and_audit(self):
        org = _register()
        assert org.status == VerificationStatus.PENDING
        owner = org.memberships.get().user
        assert org.memberships.get().role == Role.OWNER
        assert owner.groups.filter(pk=org.group_id).exists()
        actions = set(AuditEvent.objects.filter(organization_id=org.pk).values_list("action", flat=True))
        assert {"organization.registered", "membership.added"} <= actions

    def test_wrong_check_character_is_a_field_error_and_nothing_is_written(self):
        code = credit_code()
        bad = code[:17] + ("0" if code[17] != "0" else "1")
        with pytest.raises(ValidationError) as exc:
            _register(credit_code=bad)
        assert "credit_code" in exc.value.message_dict
        assert not Organization.objects.exists()

    def test_lower_case_code_is_normalised(self):
        org = _register(credit_code="91350100m000100y43")
        assert org.credit_code == "91350100M000100Y43"

    def test_duplicate_credit_code_or_name_is_refused(self):
        org = _register()
        with pytest.raises(ValidationError) as exc:
            _register(credit_code=org.credit_code, name=org.name.upper())
        assert set(exc.value.message_dict) == {"credit_code", "name"}
        assert Organization.objects.count() == 1


class TestVerification:
    def test_upload_then_verify(self, regulator):
        org = _register()
        owner = owner_of(org)
        org = services.organization_upload_licence(organization=org, by=owner, licence=SimpleUploadedFile("l.pdf", PDF))
        org = services.organization_verify(organization=org, by=regulator, reason="Licence matches registry.")
        assert org.status == VerificationStatus.VERIFIED and org.verified_at
        assert org.status_reason == "Licence matches registry."

    def test_mail_goes_out_only_after_commit(self, regulator, django_capture_on_commit_callbacks):
        org = _register()
        services.organization_upload_licence(
            organization=org, by=owner_of(org), licence=SimpleUploadedFile("l.pdf", PDF)
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.organization_reject(organization=org, by=regulator, reason="Licence is blurred.")
        assert len(mail.outbox) == 1
        assert "Licence is blurred." in mail.outbox[0].body

    def test_verify_needs_a_licence(self, regulator):
        org = _register()
        with pytest.raises(DomainError) as exc:
            services.organization_verify(organization=org, by=regulator, reason="ok")
        assert exc.value.code == "licence_missing"

    def test_reason_is_required(self, regulator):
        org = _register()
        with pytest.raises(ValidationError):
            services.organization_reject(organization=org, by=regulator, reason="  ")
        org.refresh_from_db()
        assert org.status == VerificationStatus.PENDING

    def test_only_regulators_decide(self):
        org = _register()
        with pytest.raises(PermissionDeniedError):
            services.organization_reject(organization=org, by=owner_of(org), reason="self-service")

    def test_rejected_goes_back_to_pending_on_a_new_licence(self, regulator):
        org = _register()
        org = services.organization_reject(organization=org, by=regulator, reason="No licence")
        org = services.organization_upload_licence(
            organization=org, by=owner_of(org), licence=SimpleUploadedFile("l.png", b"\x89PNG\r\n\x1a\nxx")
        )
        assert org.status == VerificationStatus.PENDING

    def test_suspend_and_reinstate(self, regulator, org):
        org = services.organization_suspend(organization=org, by=regulator, reason="Complaint under review")
        assert org.status == VerificationStatus.SUSPENDED
        org = services.organization_reinstate(organization=org, by=regulator, reason="Complaint dismissed")
        assert org.status == VerificationStatus.VERIFIED

    def test_invalid_transition(self, regulator):
        org = _register()
        with pytest.raises(InvalidTransition):
            services.organization_suspend(organization=org, by=regulator, reason="x")

    def test_licence_must_be_pdf_or_image(self):
        org = _register()
        with pytest.raises(ValidationError) as exc:
            services.organization_upload_licence(
                organization=org, by=owner_of(org), licence=SimpleUploadedFile("l.exe", b"MZ\x90\x00")
            )
        assert "business_licence" in exc.value.message_dict

    def test_every_transition_is_audited_and_chain_holds(self, regulator):
        org = _register()
        services.organization_upload_licence(
            organization=org, by=owner_of(org), licence=SimpleUploadedFile("l.pdf", PDF)
        )
        services.organization_verify(organization=org, by=regulator, reason="ok")
        event = AuditEvent.objects.filter(action="organization.verified").for_object(org).get()
        assert event.data["from"] == "pending" and event.data["reason"] == "ok"
        assert event.actor_id == str(regulator.pk)
        assert ledger_verify().ok


class TestMemberships:
    def test_viewer_cannot_change_roles(self, org):
        viewer = member(org, Role.VIEWER)
        target = Membership.objects.get(user=member(org, Role.EDITOR))
        with pytest.raises(PermissionDeniedError):
            services.membership_change_role(membership=target, role=Role.ADMIN, by=viewer)
        target.refresh_from_db()
        assert target.role == Role.EDITOR

    def test_admin_changes_roles_but_not_owner(self, org, owner):
        admin = member(org, Role.ADMIN)
        target = Membership.objects.get(user=member(org, Role.VIEWER))
        services.membership_change_role(membership=target, role=Role.EDITOR, by=admin)
        with pytest.raises(PermissionDeniedError):
            services.membership_change_role(membership=target, role=Role.OWNER, by=admin)
        services.membership_change_role(membership=target, role=Role.OWNER, by=owner)
        assert Membership.objects.get(pk=target.pk).role == Role.OWNER

    def test_last_owner_stays(self, org, owner):
        own = Membership.objects.get(user=owner, organization=org)
        with pytest.raises(DomainError) as exc:
            services.membership_change_role(membership=own, role=Role.VIEWER, by=owner)
        assert exc.value.code == "last_owner"
        with pytest.raises(DomainError):
            services.membership_remove(membership=own, by=owner)

    def test_remove_takes_user_out_of_the_group(self, org, owner):
        user = member(org)
        services.membership_remove(membership=Membership.objects.get(user=user), by=owner)
        assert not user.groups.filter(pk=org.group_id).exists()
        assert not Membership.objects.filter(user=user).exists()

    def test_member_may_leave(self, org):
        user = member(org, Role.VIEWER)
        services.membership_remove(membership=Membership.objects.get(user=user), by=user)
        assert not Membership.objects.filter(user=user).exists()

    def test_regulator_members_are_staff(self):
        org = OrganizationFactory(kind="regulator")
        user = member(org, Role.ADMIN)
        assert User.objects.get(pk=user.pk).is_staff
        services.membership_remove(membership=Membership.objects.get(user=user), by=owner_of(org))
        assert not User.objects.get(pk=user.pk).is_staff


class TestInvitations:
    def test_invite_and_accept(self, org, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invitation, token = InvitationFactory(organization=org, email="New@Example.com", role=Role.EDITOR)
        assert invitation.email == "new@example.com"
        assert token in mail.outbox[0].body and invitation.token_hash != token
        user = UserFactory(email="new@example.com")
        membership = services.invitation_accept(token=token, user=user)
        assert membership.role == Role.EDITOR and membership.organization == org
        with pytest.raises(DomainError) as exc:
            services.invitation_accept(token=token, user=user)
        assert exc.value.code == "invitation_used"

    def test_wrong_user_cannot_accept(self, org):
        _inv, token = InvitationFactory(organization=org, email="a@example.com")
        with pytest.raises(DomainError) as exc:
            services.invitation_accept(token=token, user=UserFactory(email="b@example.com"))
        assert exc.value.code == "invitation_wrong_user"
        assert not Membership.objects.filter(user__email="b@example.com").exists()

    def test_expired_and_revoked(self, org, owner):
        inv, token = InvitationFactory(organization=org)
        Invitation.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(DomainError, match="expired"):
            services.invitation_accept(token=token, user=UserFactory(email=inv.email))
        inv2, token2 = InvitationFactory(organization=org)
        services.invitation_revoke(invitation=inv2, by=owner)
        with pytest.raises(DomainError) as exc:
            services.invitation_accept(token=token2, user=UserFactory(email=inv2.email))
        assert exc.value.code == "invitation_revoked"

    def test_invalid_token(self):
        with pytest.raises(DomainError) as exc:
            services.invitation_for_token("nope")
        assert exc.value.code == "invitation_invalid"

    def test_editor_cannot_invite_and_duplicates_are_refused(self, org):
        editor = member(org, Role.EDITOR)
        with pytest.raises(PermissionDeniedError):
            services.invitation_create(organization=org, email="x@example.com", role=Role.VIEWER, by=editor)
        InvitationFactory(organization=org, email="x@example.com")
        with pytest.raises(ValidationError):
            InvitationFactory(organization=org, email="x@example.com")
        with pytest.raises(ValidationError):
            InvitationFactory(organization=org, email=editor.email)


class TestApiKeys:
    def test_lifecycle(self, org, owner):
        key, raw = services.api_key_create(organization=org, name="ERP", scope=ApiKeyScope.READ, by=owner)
        stored = ApiKey.objects.get(pk=key.pk)
        assert raw.startswith(stored.prefix + "_") and raw not in (stored.key_hash, stored.prefix)
        assert stored.key_hash == services.api_key_hash(raw)
        assert services.api_key_authenticate(raw, ip="127.0.0.1") == key
        assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
        services.api_key_revoke(api_key=key, by=owner)
        with pytest.raises(DomainError) as exc:
            services.api_key_authenticate(raw)
        assert exc.value.code == "api_key_revoked"

    def test_expired_key(self, org):
        key, raw = ApiKeyFactory(organization=org, expires_at=timezone.now() + timedelta(minutes=5))
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(DomainError) as exc:
            services.api_key_authenticate(raw)
        assert exc.value.code == "api_key_expired"

    @pytest.mark.parametrize("raw", ["", "dbk_x", "dbk_00000000_ffff", "garbage_with_three_parts_"])
    def test_invalid_keys(self, org, raw):
        ApiKeyFactory(organization=org)
        with pytest.raises(DomainError) as exc:
            services.api_key_authenticate(raw)
        assert exc.value.code == "api_key_invalid"

    def test_tampered_secret_with_real_prefix_is_invalid(self, org):
        _key, raw = ApiKeyFactory(organization=org)
        with pytest.raises(DomainError, match="Invalid"):
            services.api_key_authenticate(raw[:-1] + ("0" if raw[-1] != "0" else "1"))

    def test_unverified_organization_cannot_create_keys(self):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        with pytest.raises(OrganizationNotVerified):
            services.api_key_create(organization=org, name="x", scope="read", by=owner_of(org))
        assert not ApiKey.objects.exists()

    def test_suspended_organization_keys_stop_working(self, org, regulator):
        _key, raw = ApiKeyFactory(organization=org)
        services.organization_suspend(organization=org, by=regulator, reason="Investigation")
        with pytest.raises(DomainError) as exc:
            services.api_key_authenticate(raw)
        assert exc.value.code == "organization_not_verified"

    def test_editor_cannot_create_keys(self, org):
        with pytest.raises(PermissionDeniedError):
            services.api_key_create(organization=org, name="x", scope="read", by=member(org, Role.EDITOR))

    def test_bad_input(self, org, owner):
        with pytest.raises(ValidationError):
            services.api_key_create(organization=org, name="x", scope="admin", by=owner)
        with pytest.raises(ValidationError):
            services.api_key_create(
                organization=org, name="x", scope="read", by=owner, expires_at=timezone.now() - timedelta(days=1)
            )
        with pytest.raises(ValidationError):
            services.api_key_create(organization=org, name=" ", scope="read", by=owner)
        assert not ApiKey.objects.exists()


class TestSuspendedOrganisations:
    def test_members_keep_read_access_only(self, org, owner, regulator):
        services.organization_suspend(organization=org, by=regulator, reason="Investigation")
        assert Organization.objects.restrict(owner, "view").exists()
        assert not Organization.objects.restrict(owner, "change").exists()
        with pytest.raises(OrganizationNotVerified):
            services.organization_update(organization=org, by=owner, address="Elsewhere")


def test_api_key_principal_cannot_revoke_keys(org, other_org):
    from accounts.models import ApiKeyPrincipal

    mine, _ = ApiKeyFactory(organization=org)
    theirs, _ = ApiKeyFactory(organization=other_org)
    with pytest.raises(PermissionDeniedError):
        services.api_key_revoke(api_key=theirs, by=ApiKeyPrincipal(mine))
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None


def test_invitation_survives_a_mail_failure(org, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr(core_mail, "send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _token = InvitationFactory(organization=org)
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_register_cannot_set_kind_or_status():
    with pytest.raises(ValidationError):
        _register(kind="regulator")
    with pytest.raises(ValidationError):
        _register(status="verified")
    assert not Organization.objects.exists()


def test_weak_password_is_refused():
    with pytest.raises(ValidationError) as exc:
        services.user_create(email="a@example.com", password="12345678", full_name="A")
    assert "password" in exc.value.message_dict
    assert not User.objects.exists()


def test_verified_organisation_cannot_swap_its_licence(org, owner):
    with pytest.raises(DomainError) as exc:
        services.organization_upload_licence(organization=org, by=owner, licence=SimpleUploadedFile("l.pdf", PDF))
    assert exc.value.code == "licence_locked"


def test_accepting_when_already_a_member_is_a_clear_error(org, owner):
    _inv, token = InvitationFactory(organization=org, email="joiner@example.com")
    joiner = UserFactory(email="joiner@example.com")
    services.membership_add(organization=org, user=joiner, role=Role.VIEWER, by=owner)
    with pytest.raises(DomainError) as exc:
        services.invitation_accept(token=token, user=joiner)
    assert exc.value.code == "already_member"


# --- access: platform administrators, access changes, TOTP devices ---------------------------------------------


class TestAccessServices:
    def test_createsuperuser_goes_through_the_audited_service(self, monkeypatch):
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-passphrase")
        call_command("createsuperuser", "--noinput", "--email", "Root@Example.com", "--full_name", "Root", verbosity=0)
        user = User.objects.get(email="root@example.com")
        assert user.is_superuser and user.is_staff and user.check_password("a-long-admin-passphrase")
        event = AuditEvent.objects.get(action="user.superuser_created")
        assert event.object_id == str(user.pk) and event.actor_kind == "system"
        assert event.data == {"email": "root@example.com"}

    def test_access_changes_need_a_platform_administrator_and_write_nothing_otherwise(self, org, regulator):
        user = owner_of(org)
        user.is_superuser = True
        before = AuditEvent.objects.count()
        for by in (regulator, owner_of(org), None):
            with pytest.raises(PermissionDeniedError):
                access_services.user_update_access(user=user, groups=[], by=by)
        with pytest.raises(PermissionDeniedError):
            access_services.user_set_password(user=user, password="another-long-passphrase", by=regulator)
        with pytest.raises(PermissionDeniedError):
            access_services.user_delete(user=user, by=regulator)
        assert not User.objects.get(pk=user.pk).is_superuser
        assert AuditEvent.objects.count() == before

    def test_totp_setup_creates_one_audited_device_and_confirmation_is_audited(self, regulator, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp delays retries after a failure; not what is tested here
        device = access_services.totp_device_for_setup(regulator)
        assert access_services.totp_device_for_setup(regulator) == device  # the same unconfirmed device again
        created = AuditEvent.objects.get(action="totp_device.created")
        assert created.object_id == str(device.pk) and created.actor_id == str(regulator.pk)
        assert created.data == {"user": regulator.email, "name": device.name, "confirmed": False}
        assert device.key not in str(created.data)

        assert not access_services.totp_device_confirm(device=device, token="000000", by=regulator)
        token = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        assert access_services.totp_device_confirm(device=device, token=token, by=regulator)

        assert AuditEvent.objects.filter(action="totp_device.confirmed", object_id=str(device.pk)).count() == 1
        assert access_services.totp_device_for_setup(regulator) is None
        assert ledger_verify().ok

    def test_device_created_for_seed_data_keeps_the_given_key(self, regulator):
        key = "3132333435363738393031323334353637383930"
        device = access_services.totp_device_create(user=regulator, name="Demo", by=None, confirmed=True, key=key)
        assert device.key == key and device.confirmed
        assert AuditEvent.objects.get(action="totp_device.created").actor_kind == "system"

    def test_groups_that_follow_memberships_cannot_be_edited(self, org):
        root = User.objects.create_superuser("root@example.com", "a-long-admin-passphrase")
        with pytest.raises(access_services.GroupManaged):
            access_services.group_save(group=org.group, permissions=[], by=root)
        with pytest.raises(access_services.GroupManaged):
            access_services.group_delete(group=org.group, by=root)
        assert not AuditEvent.objects.filter(action__startswith="group.").exists()
