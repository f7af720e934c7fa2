import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.access_services import membership_groups
from accounts.choices import VerificationStatus
from accounts.models import Organization, User
from audit.models import AuditEvent
from audit.services import ledger_verify
from tests.admin import otp_login
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import PASSWORD, owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def regulator():
    org = OrganizationFactory(kind="regulator", can_buy=False)
    return member(org, "admin")


@pytest.fixture
def pending_org():
    org = OrganizationFactory(status=VerificationStatus.PENDING)
    org.business_licence.save("licence.pdf", ContentFile(b"%PDF-1.4 scan"), save=True)
    return org


def test_admin_login_requires_a_totp_token(client, regulator, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp delays retries after a failure; not what is tested here
    device = TOTPDevice.objects.create(user=regulator, name="phone", confirmed=True)
    url = reverse("admin:login")
    response = client.post(
        url,
        {"username": regulator.email, "password": PASSWORD, "otp_device": device.persistent_id, "otp_token": "000000"},
    )
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    token = f"{totp(device.bin_key):06d}"
    response = client.post(
        url,
        {
            "username": regulator.email,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": token,
            "next": "/admin/",
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_staff_without_verified_device_is_kept_out(client, regulator):
    client.force_login(regulator)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_non_regulators_are_kept_out(client, org):
    client.force_login(owner_of(org))
    assert client.get("/admin/").status_code == 302


def test_regulator_reviews_the_queue_and_verifies_with_a_reason(client, regulator, pending_org):
    otp_login(client, regulator)
    listing = client.get(reverse("admin:accounts_organization_changelist") + "?status__exact=pending")
    assert pending_org.name in listing.content.decode()
    page = client.get(reverse("admin:accounts_organization_change", args=[pending_org.pk]))
    assert b"decide/verify/" in page.content and b"decide/suspend/" not in page.content
    url = reverse("admin:accounts_organization_decide", args=[pending_org.pk, "verify"])
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 200 and b"required" in empty.content.lower()
    response = client.post(url, {"reason": "Licence checked against the registry."}, follow=True)
    assert f"Decision recorded: Verify — {pending_org.name}." in response.content.decode()
    pending_org.refresh_from_db()
    assert pending_org.status == VerificationStatus.VERIFIED
    event = AuditEvent.objects.get(action="organization.verified", object_id=str(pending_org.pk))
    assert event.actor_id == str(regulator.pk)


def test_bulk_reject_action_asks_for_a_reason(client, regulator, pending_org):
    otp_login(client, regulator)
    url = reverse("admin:accounts_organization_changelist")
    data = {"action": "decide_reject", "_selected_action": [pending_org.pk]}
    ask = client.post(url, data)
    assert ask.status_code == 200 and b"reason" in ask.content
    done = client.post(url, {**data, "reason": "Licence expired."})
    assert done.status_code == 302
    assert Organization.objects.get(pk=pending_org.pk).status == VerificationStatus.REJECTED


def test_licence_opens_for_regulators(client, regulator, pending_org):
    otp_login(client, regulator)
    response = client.get(reverse("admin:accounts_organization_licence", args=[pending_org.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_ledger_is_read_only_in_the_admin(client, regulator, pending_org):
    otp_login(client, regulator)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403


# --- platform administrators: every save and delete in the admin is audited ------------------------------------


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@example.com", PASSWORD, full_name="Root")


def _user_form(user, **overrides):
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [g.pk for g in user.groups.exclude(membership_groups())],
        **overrides,
    }
    return {k: v for k, v in data.items() if v != ""}


def _events(action):
    return AuditEvent.objects.filter(action=action)


class TestUserAdmin:
    def test_access_change_is_one_audited_event_and_membership_groups_stay(self, client, superuser, org):
        otp_login(client, superuser)
        user = member(org, "editor")
        auditors = Group.objects.create(name="Auditors")
        url = reverse("admin:accounts_user_change", args=[user.pk])
        page = client.get(url)
        assert org.group.name in page.content.decode()  # shown read-only, not offered in the widget
        assert org.group.pk not in [c.value for c, _label in page.context["adminform"].form.fields["groups"].choices]

        response = client.post(url, _user_form(user, is_active="", is_staff="on", groups=[auditors.pk]))

        assert response.status_code == 302, response.context["adminform"].form.errors
        user.refresh_from_db()
        assert not user.is_active and user.is_staff
        assert set(user.groups.values_list("name", flat=True)) == {org.group.name, "Auditors"}
        event = _events("user.access_changed").get(object_id=str(user.pk))
        assert event.actor_id == str(superuser.pk)
        assert event.data["changes"] == {"is_active": [True, False], "is_staff": [False, True]}
        assert event.data["groups_added"] == ["Auditors"] and event.data["groups_removed"] == []
        assert ledger_verify().ok

    def test_superuser_flag_and_group_removal_are_recorded(self, client, superuser, org):
        otp_login(client, superuser)
        user = member(org, "viewer")
        auditors = Group.objects.create(name="Auditors")
        user.groups.add(auditors)
        url = reverse("admin:accounts_user_change", args=[user.pk])

        client.post(url, _user_form(user, is_superuser="on", is_staff="on", groups=[]))

        event = _events("user.access_changed").get(object_id=str(user.pk))
        assert event.data["changes"]["is_superuser"] == [False, True]
        assert event.data["groups_removed"] == ["Auditors"]
        assert user.groups.filter(pk=org.group_id).exists()

    def test_saving_without_changes_writes_nothing(self, client, superuser, org):
        otp_login(client, superuser)
        user = member(org, "viewer")
        before = AuditEvent.objects.count()
        response = client.post(reverse("admin:accounts_user_change", args=[user.pk]), _user_form(user))
        assert response.status_code == 302
        assert AuditEvent.objects.count() == before

    def test_password_set_and_disabled_through_the_admin_are_audited(self, client, superuser, org):
        otp_login(client, superuser)
        user = member(org, "viewer")
        url = reverse("admin:auth_user_password_change", args=[user.pk])
        new = "a-new-long-passphrase-42"

        response = client.post(url, {"password1": new, "password2": new, "usable_password": "true"})

        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password(new)
        event = _events("user.password_set").get(object_id=str(user.pk))
        assert event.actor_id == str(superuser.pk) and event.data == {"email": user.email, "usable": True}
        assert new not in str(event.data) and user.password not in str(event.data)

        client.post(url, {"usable_password": "false", "unset-password": "1"})
        user.refresh_from_db()
        assert not user.has_usable_password()
        assert _events("user.password_set").filter(object_id=str(user.pk), data__usable=False).exists()

    def test_adding_a_user_is_audited_with_the_administrator_as_actor(self, client, superuser):
        otp_login(client, superuser)
        data = {"email": "New.Person@example.com", "full_name": "New Person"}
        response = client.post(
            reverse("admin:accounts_user_add"),
            {**data, "password1": "long-passphrase-77", "password2": "long-passphrase-77"},
        )
        assert response.status_code == 302
        user = User.objects.get(email="new.person@example.com")
        assert user.check_password("long-passphrase-77")
        event = _events("user.created").get(object_id=str(user.pk))
        assert event.actor_id == str(superuser.pk)

    def test_deleting_users_one_by_one_and_in_bulk_is_audited(self, client, superuser):
        otp_login(client, superuser)
        first, second, third = (User.objects.create_user(f"u{i}@example.com", PASSWORD) for i in range(3))

        client.post(reverse("admin:accounts_user_delete", args=[first.pk]), {"post": "yes"})
        data = {"action": "delete_selected", "_selected_action": [second.pk, third.pk], "post": "yes"}
        client.post(reverse("admin:accounts_user_changelist"), data)

        assert not User.objects.filter(pk__in=[first.pk, second.pk, third.pk]).exists()
        deleted = set(_events("user.deleted").values_list("data__email", flat=True))
        assert deleted == {"u0@example.com", "u1@example.com", "u2@example.com"}
        assert ledger_verify().ok

    def test_a_regulator_can_look_but_not_change(self, client, regulator, org):
        otp_login(client, regulator)
        user = owner_of(org)
        url = reverse("admin:accounts_user_change", args=[user.pk])
        assert client.get(url).status_code == 200
        assert client.post(url, _user_form(user, is_superuser="on")).status_code == 403
        assert not _events("user.access_changed").exists()


class TestGroupAdmin:
    def test_hand_managed_group_create_change_delete_are_audited(self, client, superuser):
        otp_login(client, superuser)
        view_ledger = Permission.objects.get(codename="view_auditevent")
        view_user = Permission.objects.get(codename="view_user", content_type__app_label="accounts")

        client.post(reverse("admin:auth_group_add"), {"name": "Auditors", "permissions": [view_ledger.pk]})
        group = Group.objects.get(name="Auditors")
        client.post(
            reverse("admin:auth_group_change", args=[group.pk]), {"name": "Auditors", "permissions": [view_user.pk]}
        )
        client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})

        assert not Group.objects.filter(name="Auditors").exists()
        created, changed, deleted = (
            _events(a).get(object_id=str(group.pk)) for a in ("group.created", "group.changed", "group.deleted")
        )
        assert created.data["permissions_added"] == ["view_auditevent"]
        assert changed.data["permissions_added"] == ["view_user"]
        assert changed.data["permissions_removed"] == ["view_auditevent"]
        assert deleted.data["name"] == "Auditors"

    def test_groups_that_follow_memberships_are_read_only(self, client, superuser, org):
        otp_login(client, superuser)
        url = reverse("admin:auth_group_change", args=[org.group_id])
        assert client.post(url, {"name": "renamed", "permissions": []}).status_code == 403
        assert client.post(reverse("admin:auth_group_delete", args=[org.group_id]), {"post": "yes"}).status_code == 403
        org.group.refresh_from_db()
        assert org.group.name.startswith("org:")
        assert not _events("group.changed").exists()


class TestTOTPDeviceAdmin:
    def test_device_add_change_delete_are_audited_without_the_secret(self, client, superuser, regulator):
        otp_login(client, superuser)
        fields = {"user": regulator.pk, "name": "phone", "key": "3132333435363738393031323334353637383930"}
        fields |= {"step": 30, "t0": 0, "digits": 6, "tolerance": 1, "drift": 0, "throttling_failure_count": 0}

        response = client.post(reverse("admin:otp_totp_totpdevice_add"), {**fields, "confirmed": "on"})
        assert response.status_code == 302, response.context["adminform"].form.errors
        device = TOTPDevice.objects.get(user=regulator)
        client.post(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]), {**fields, "name": "tablet"})
        client.post(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"})

        assert not TOTPDevice.objects.filter(pk=device.pk).exists()
        created, changed, deleted = (
            _events(a).get(object_id=str(device.pk))
            for a in ("totp_device.created", "totp_device.changed", "totp_device.deleted")
        )
        assert created.data == {"user": regulator.email, "name": "phone", "confirmed": True}
        assert changed.data["changes"] == {"name": ["phone", "tablet"], "confirmed": [True, False]}
        assert deleted.actor_id == str(superuser.pk)
        assert all(fields["key"] not in str(e.data) for e in AuditEvent.objects.all())
